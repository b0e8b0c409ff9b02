"""autograder.files: the one atomic write every package uses."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from autograder.files import DIR_MODE, FILE_MODE, remove_stale_temporaries, write_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_text_and_bytes_are_written_private_by_default(tmp_path: Path):
    write_atomic(tmp_path / "new" / "a.txt", "ŷ = W2 σ(W1 x)\n")
    write_atomic(tmp_path / "new" / "b.bin", b"\x00\xff")
    assert (tmp_path / "new" / "a.txt").read_text(encoding="utf-8") == "ŷ = W2 σ(W1 x)\n"
    assert (tmp_path / "new" / "b.bin").read_bytes() == b"\x00\xff"
    assert _mode(tmp_path / "new" / "a.txt") == FILE_MODE == 0o640
    assert _mode(tmp_path / "new") == DIR_MODE == 0o750


def test_a_wider_mode_opens_the_folders_it_makes_as_far(tmp_path: Path):
    write_atomic(tmp_path / "assignment" / "hw2.ipynb", "{}", mode=0o644)
    assert _mode(tmp_path / "assignment" / "hw2.ipynb") == 0o644
    assert _mode(tmp_path / "assignment") == 0o755


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path):
    dest = tmp_path / "grades.csv"
    write_atomic(dest, "old")
    with pytest.raises(TypeError):
        write_atomic(dest, 42)  # type: ignore[arg-type]
    assert dest.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"]


def test_a_long_name_still_gets_a_temporary(tmp_path: Path):
    dest = tmp_path / ("x" * 250)
    write_atomic(dest, "ok")
    assert dest.read_text() == "ok"


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path: Path):
    (tmp_path / "results").mkdir()
    stale = tmp_path / "results" / ".ada.json.k2j3.tmp"  # as mkstemp names them
    stale.write_text("{")
    keep = [tmp_path / "results" / "ada.json", tmp_path / "notes.tmp", tmp_path / ".hidden"]
    for path in keep:
        path.write_text("x")
    remove_stale_temporaries(tmp_path)
    assert not stale.exists()
    assert all(p.exists() for p in keep)
    remove_stale_temporaries(tmp_path / "missing")  # no folder yet: nothing to do
