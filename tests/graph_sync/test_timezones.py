"""Windows and IANA zone names from Graph → IANA names."""

from __future__ import annotations

import zoneinfo

import pytest

from graph_sync.timezones import WINDOWS_TO_IANA, iana_zone, zone_or_default


@pytest.mark.parametrize(("windows", "iana"), [
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("China Standard Time", "Asia/Shanghai"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Eastern Standard Time", "America/New_York"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("UTC-08", "Etc/GMT+8"),  # POSIX signs: Etc/GMT+8 is eight hours behind UTC
    ("UTC+12", "Etc/GMT-12"),
])
def test_windows_zone_ids_map_to_the_cldr_default_zone(windows: str, iana: str) -> None:
    assert iana_zone(windows) == iana


def test_utc_is_utc_whether_read_as_iana_or_windows() -> None:
    assert iana_zone("UTC") == "UTC"
    assert iana_zone("utc") == "Etc/UTC"


def test_windows_ids_match_ignoring_case_and_surrounding_whitespace() -> None:
    assert iana_zone("  pacific standard time\t") == "America/Los_Angeles"
    assert iana_zone("W. EUROPE STANDARD TIME") == "Europe/Berlin"


def test_iana_names_pass_through_and_are_matched_ignoring_case() -> None:
    assert iana_zone("Europe/Berlin") == "Europe/Berlin"
    assert iana_zone(" Asia/Shanghai ") == "Asia/Shanghai"
    assert iana_zone("america/los_angeles") == "America/Los_Angeles"


@pytest.mark.parametrize("name", ["", "   ", "Martian Standard Time", "Pacific", "America", "../etc/passwd",
                                  "Europe/Nowhere", "Pacific Standard Time\x00"])
def test_unknown_names_are_none(name: str) -> None:
    assert iana_zone(name) is None


def test_zone_or_default_falls_back_for_missing_and_unknown_names() -> None:
    assert zone_or_default("Tokyo Standard Time", "UTC") == "Asia/Tokyo"
    assert zone_or_default(None, "Europe/Paris") == "Europe/Paris"
    assert zone_or_default(" ", "Europe/Paris") == "Europe/Paris"
    assert zone_or_default("Nowhere Standard Time", "UTC") == "UTC"


def test_the_table_is_complete_and_every_target_exists_in_this_machines_zoneinfo() -> None:
    available = zoneinfo.available_timezones()
    assert len(WINDOWS_TO_IANA) >= 139  # CLDR's territory-001 rows
    assert len({name.lower() for name in WINDOWS_TO_IANA}) == len(WINDOWS_TO_IANA)  # no case-only duplicates
    assert sorted(iana for iana in WINDOWS_TO_IANA.values() if iana not in available) == []
    for name, iana in WINDOWS_TO_IANA.items():
        assert iana_zone(name) in (iana, name)  # only "UTC" is itself an IANA name
