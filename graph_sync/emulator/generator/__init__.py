"""Synthetic tenant generator: a deterministic tenant directory, CRM records and the planted ground truth.

Entry point: :func:`generate_tenant`. The directory format is documented in ``docs/tenant-directory.md``,
what is planted in ``docs/synthetic-tenant.md``. :func:`is_current` tells whether a directory was written by
this generator version (it does not import the generator's numpy model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graph_sync.emulator.generator.version import GENERATOR_VERSION, is_current

if TYPE_CHECKING:
    from graph_sync.emulator.generator.generate import REFERENCE_NOW, GenerationReport, generate_tenant

__all__ = ["GENERATOR_VERSION", "REFERENCE_NOW", "GenerationReport", "generate_tenant", "is_current"]


def __getattr__(name: str) -> Any:
    if name in ("REFERENCE_NOW", "GenerationReport", "generate_tenant"):
        from graph_sync.emulator.generator import generate

        return getattr(generate, name)
    raise AttributeError(name)
