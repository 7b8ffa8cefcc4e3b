"""Pipelines are built once per test session: building them is the slow part."""

from __future__ import annotations

from datetime import datetime

import pytest

from analytics.nlp.analyzer import NoteAnalyzer

# Thursday 26 November 2026, 09:00 wall time.
REF = datetime(2026, 11, 26, 9, 0)


@pytest.fixture(scope="session")
def analyzer() -> NoteAnalyzer:
    return NoteAnalyzer()
