"""Notes analysis: what a rep's free-text note suggests creating (meetings, calls, tasks, contacts, ...).

The stable entry point is :func:`analytics.nlp.analyzer.analyze_note`; see ``docs/notes.md``.
"""
