"""Errors of the scoring package.

::

    ScoringError (RapportError)     root of every scoring error
    ├── MappingError                the mapping file is invalid (names the key and what it expects)
    ├── ImportInvalid               a CRM file has problems; carries every problem with line and column
    ├── NotEnoughData               too few closed records to train; says exactly what is missing
    └── NoActiveModel               scoring was asked for a record type without a published model
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.errors import RapportError


class ScoringError(RapportError):
    """Root of every error of the scoring package."""


class MappingError(ScoringError):
    """A mapping file is invalid."""

    def __init__(self, source: str, key: str, expected: str) -> None:
        self.source = source
        self.key = key
        self.expected = expected
        super().__init__(f"{source}: {key}: {expected}")


@dataclass(frozen=True)
class ImportProblem:
    """One problem in an imported file. ``line`` is 1-based as an editor shows it (the CSV header is line 1)."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}, column {self.column!r}: {self.message}" if self.column else f"{where}: {self.message}"


class ImportInvalid(ScoringError):
    """A CRM file was rejected as a whole; nothing of it was written."""

    def __init__(self, path: str, problems: list[ImportProblem]) -> None:
        self.path = path
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{path}: {len(problems)} problem(s), nothing imported:\n{shown}{more}")


class NotEnoughData(ScoringError):
    """Too few closed records in the training window."""

    def __init__(self, record_type: str, positives: int, negatives: int, needed: int, window: str,
                 positive_word: str, negative_word: str) -> None:
        self.record_type = record_type
        self.positives = positives
        self.negatives = negatives
        self.needed = needed
        self.window = window
        missing = []
        if positives < needed:
            missing.append(f"{needed - positives} more {positive_word}")
        if negatives < needed:
            missing.append(f"{needed - negatives} more {negative_word}")
        super().__init__(
            f"cannot train a {record_type} model: it needs at least {needed} {positive_word} and {needed} "
            f"{negative_word} closed {record_type}s closed {window}; found {positives} {positive_word} and "
            f"{negatives} {negative_word} — missing " + " and ".join(missing)
        )


class NoActiveModel(ScoringError):
    """No published model exists for a record type."""

    def __init__(self, record_type: str) -> None:
        self.record_type = record_type
        super().__init__(f"no published {record_type} model: run `rapport scoring train {record_type}` first")
