"""Errors of the app-package builder.

::

    ManifestError (a RapportError)   root
    └── PackageInvalid               the package breaks the schema or Teams' icon rules (carries every problem)
"""

from __future__ import annotations

from collections.abc import Sequence

from analytics.errors import RapportError


class ManifestError(RapportError):
    """Root of the app-package builder's errors."""


class PackageInvalid(ManifestError):
    """The built package is not one Teams accepts."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("the app package is invalid:\n  " + "\n  ".join(self.problems))
