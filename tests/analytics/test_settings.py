from __future__ import annotations

import re
from pathlib import Path

import pytest

from analytics.errors import ConfigError
from analytics.settings import OPTIONS, Settings, configuration_table, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_need_no_environment() -> None:
    s = load_settings({})
    assert s == Settings()
    assert s.database_url == "sqlite:///./rapport.db"


def test_environment_overrides_toml_file(tmp_path: Path) -> None:
    cfg = tmp_path / "rapport.toml"
    cfg.write_text('[sync]\npage_size = 200\nper_mailbox = 2\n[database]\nurl = "sqlite:///x.db"\n')
    s = load_settings({"RAPPORT_CONFIG": str(cfg), "RAPPORT_SYNC_PAGE_SIZE": "500"})
    assert (s.sync_page_size, s.sync_per_mailbox, s.database_url) == (500, 2, "sqlite:///x.db")


@pytest.mark.parametrize(
    ("env", "variable", "expected"),
    [
        ({"RAPPORT_SYNC_PAGE_SIZE": "5000"}, "RAPPORT_SYNC_PAGE_SIZE", "an integer from 1 to 1000"),
        ({"RAPPORT_SYNC_PAGE_SIZE": "many"}, "RAPPORT_SYNC_PAGE_SIZE", "an integer"),
        ({"RAPPORT_SYNC_ALL_FOLDERS": "maybe"}, "RAPPORT_SYNC_ALL_FOLDERS", "true or false"),
        ({"RAPPORT_SUBJECT_POLICY": "encrypt"}, "RAPPORT_SUBJECT_POLICY", "one of drop, hash, keep"),
        ({"RAPPORT_DEFAULT_TIMEZONE": "Mars/Olympus"}, "RAPPORT_DEFAULT_TIMEZONE", "IANA time zone"),
        ({"RAPPORT_DATABSE_URL": "sqlite://"}, "RAPPORT_DATABSE_URL", "a known RAPPORT_* variable"),
    ],
)
def test_a_wrong_value_names_the_variable_and_what_it_expects(
    env: dict[str, str], variable: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert err.value.variable == variable
    assert expected in str(err.value)


def test_unknown_toml_key_and_bad_toml_are_refused(tmp_path: Path) -> None:
    bad_key = tmp_path / "a.toml"
    bad_key.write_text("[sync]\npagesize = 3\n")
    with pytest.raises(ConfigError, match=r"sync\.pagesize"):
        load_settings({}, config_file=bad_key)
    broken = tmp_path / "b.toml"
    broken.write_text("[sync\n")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_settings({}, config_file=broken)
    with pytest.raises(ConfigError, match="readable"):
        load_settings({}, config_file=tmp_path / "missing.toml")


def test_settings_are_immutable_and_secrets_masked() -> None:
    s = load_settings({"RAPPORT_SECRET_KEY": "hunter2"})
    with pytest.raises(AttributeError):
        s.secret_key = "x"  # type: ignore[misc]
    assert s.describe()["secret_key"] == "***"
    assert "hunter2" not in repr(s.describe())


def test_every_option_is_a_settings_field_with_the_same_default() -> None:
    defaults = Settings()
    for option in OPTIONS:
        value = getattr(defaults, option.name)
        assert str(value) == str(option.default), option.name


def test_readme_configuration_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    table = re.search(r"<!-- configuration-table:start -->\n(.*)\n<!-- configuration-table:end -->", readme, re.S)
    assert table is not None
    assert table.group(1) == configuration_table(), "regenerate with analytics.settings.configuration_table()"


def test_readme_starts_with_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[0:2] for line in first_block.strip().splitlines()] == [["make", "demo"], ["make", "test"]]
