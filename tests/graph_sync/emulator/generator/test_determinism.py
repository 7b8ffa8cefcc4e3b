"""The same seed gives byte-identical tenants; another seed gives another tenant."""

from __future__ import annotations

from pathlib import Path

from graph_sync.emulator.generator import generate_tenant
from tests.graph_sync.emulator.generator.conftest import SEED


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_writes_byte_identical_files(small_tenant: Path, tmp_path: Path) -> None:
    again = generate_tenant(tmp_path / "again", seed=SEED, size="small").out_dir
    first, second = _files(small_tenant), _files(again)
    assert list(first) == list(second)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []


def test_different_seed_writes_a_different_tenant(small_tenant: Path, tmp_path: Path) -> None:
    other = generate_tenant(tmp_path / "other", seed=SEED + 1, size="small").out_dir
    assert (small_tenant / "users.jsonl").read_bytes() != (other / "users.jsonl").read_bytes()
    assert (small_tenant / "ground_truth.json").read_bytes() != (other / "ground_truth.json").read_bytes()


def test_unknown_size_is_refused(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="unknown tenant size"):
        generate_tenant(tmp_path, seed=1, size="huge")  # type: ignore[arg-type]


def test_is_current_recognises_only_this_generator_versions_tenant(small_tenant: Path, tmp_path: Path) -> None:
    import json

    from graph_sync.emulator.generator import GENERATOR_VERSION, is_current

    assert is_current(small_tenant, seed=SEED, size="small")
    assert not is_current(small_tenant, seed=SEED + 1, size="small")
    assert not is_current(small_tenant, seed=SEED, size="demo")
    assert not is_current(tmp_path / "missing", seed=SEED, size="small")
    older = tmp_path / "older"
    older.mkdir()
    truth = json.loads((small_tenant / "ground_truth.json").read_text(encoding="utf-8"))
    truth["generator"]["version"] = GENERATOR_VERSION - 1
    (older / "ground_truth.json").write_text(json.dumps(truth), encoding="utf-8")
    assert not is_current(older, seed=SEED, size="small")
    (older / "ground_truth.json").write_text("{", encoding="utf-8")  # cut short
    assert not is_current(older, seed=SEED, size="small")
