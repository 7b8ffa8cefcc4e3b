"""Synthetic tenant generator: a deterministic tenant directory, CRM records and the planted ground truth.

Entry point: :func:`generate_tenant`. The directory format is documented in ``docs/tenant-directory.md``,
what is planted in ``docs/synthetic-tenant.md``.
"""

from graph_sync.emulator.generator.generate import REFERENCE_NOW, GenerationReport, generate_tenant

__all__ = ["REFERENCE_NOW", "GenerationReport", "generate_tenant"]
