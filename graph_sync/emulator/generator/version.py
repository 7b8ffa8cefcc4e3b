"""Which generator wrote a tenant directory, without importing the generator (numpy) to find out."""

from __future__ import annotations

import json
from pathlib import Path

# Bumped whenever the same seed and size would give different files. Caches of generated tenants (the demo's,
# the benchmarks') compare it with ``generator.version`` in their ground_truth.json and regenerate on a mismatch.
GENERATOR_VERSION = 4


def is_current(tenant_dir: Path, *, seed: int, size: str) -> bool:
    """Whether ``tenant_dir`` holds a complete tenant this generator version writes for ``seed`` and ``size``
    (ground_truth.json is written last, so its presence means the directory is complete)."""
    try:
        meta = json.loads((tenant_dir / "ground_truth.json").read_text(encoding="utf-8"))["generator"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(meta == {"seed": seed, "size": size, "version": GENERATOR_VERSION})
