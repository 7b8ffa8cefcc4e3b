"""Relationship analytics, pure: KPIs, health, connection strength and charts from typed records.

Nothing here opens a session or reads the clock; the store queries live in
:mod:`analytics.store.queries_relationships` and the composition in :mod:`analytics.query` and
:mod:`analytics.refresh`.
"""
