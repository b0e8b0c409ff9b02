"""The preloaded format is kept unpacked, within a bound (pdf_sandbox._unpacked)."""

from __future__ import annotations

import gzip
import os

from autograder.report import pdf_sandbox


def test_a_packed_format_is_unpacked():
    body = b"W2 sigma(W1 x)" * 1000
    assert pdf_sandbox._unpacked(gzip.compress(body)) == body


def test_an_unpacked_or_broken_format_is_kept_as_it_is():
    assert pdf_sandbox._unpacked(b"plain format") == b"plain format"
    broken = gzip.compress(b"x" * 100)[:-12] + b"\x00" * 12
    assert pdf_sandbox._unpacked(broken) == broken


def test_a_format_that_unpacks_beyond_the_bound_stays_packed(monkeypatch):
    monkeypatch.setattr(pdf_sandbox, "MAX_FORMAT_UNPACKED", 1 << 20)
    bomb = gzip.compress(b"\0" * (4 << 20))
    assert len(bomb) < 10_000
    assert pdf_sandbox._unpacked(bomb) == bomb
    truncated = gzip.compress(b"abc" * 1000)[:40]
    assert pdf_sandbox._unpacked(truncated) == truncated


def test_format_folders_of_dead_processes_are_removed_and_nothing_else(tmp_path):
    dead = int(open("/proc/sys/kernel/pid_max").read()) + 1  # no process has that pid
    prefix = pdf_sandbox.FORMAT_PREFIX
    stale = tmp_path / f"{prefix}{dead}-abc"
    live = tmp_path / f"{prefix}{os.getpid()}-def"
    other = tmp_path / "elsewhere"
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "graded.fmt").write_bytes(b"fmt")
    link = tmp_path / f"{prefix}{dead}-link"
    link.symlink_to(other)  # a link is never followed, nor removed
    pdf_sandbox._remove_stale_formats(tmp_path)
    assert not stale.exists()
    assert (live / "graded.fmt").exists() and (other / "graded.fmt").exists()
    assert link.is_symlink()
