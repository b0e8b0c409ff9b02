"""`make grade` passes from a fresh clone wherever it is (issue 19), and each set-up profile
installs only what its command needs.

The clones build their own .venv (set-up included, as a newcomer's `make grade` does; pip's
cache is warm). The runtimes in /opt/hw2-autograder are keyed by their requirements' hash,
so a clone finds the ones this checkout's set-up built.
"""

from __future__ import annotations

import csv
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

EXAMPLES = sorted(p.stem for p in (REPO / "examples" / "submissions").glob("*.ipynb"))


def _user_env() -> dict[str, str]:
    """The environment a user's shell would give `make`: nothing of this venv or test run."""
    venv_bin = str(REPO / ".venv" / "bin")
    path = [p for p in os.environ.get("PATH", "").split(":") if p and Path(p) != Path(venv_bin)]
    keep = ("HOME", "LANG", "LC_ALL", "USER", "LOGNAME", "TMPDIR", "PIP_INDEX_URL")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    return {**env, "PATH": ":".join(path or ["/usr/bin", "/bin"])}


def _clone(dest: Path) -> None:
    """`git clone` this repository into ``dest``, then this checkout's files over it (so an
    uncommitted change is what the clone runs; the clone is still a real git checkout)."""
    subprocess.run(["git", "clone", "-q", str(REPO), str(dest)], check=True, timeout=120)
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.split(b"\0")  # fmt: skip
    for name in filter(None, (n.decode() for n in names)):
        src = REPO / name
        if src.is_file() and not src.is_symlink():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _make_grade(repo: Path) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    p = subprocess.run(["make", "grade"], cwd=repo, env=_user_env(), capture_output=True,
                       text=True, timeout=1200)  # fmt: skip
    return p, time.monotonic() - t0


def _check_graded(repo: Path, p: subprocess.CompletedProcess) -> None:
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    out = repo / "out"
    rows = list(csv.DictReader(open(out / "grades.csv", encoding="utf-8")))
    assert sorted(r["student"] for r in rows) == EXAMPLES
    pdfs = sorted(p.stem for p in (out / "pdf").glob("*.pdf"))
    assert pdfs == EXAMPLES, p.stderr[-3000:]
    for name in EXAMPLES:
        assert (out / "pdf" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    # its own venv, not a link to this checkout's
    assert not (repo / ".venv").is_symlink() and (repo / ".venv" / "bin" / "python").exists()


@pytest.fixture
def root_only():
    if os.geteuid() != 0:
        pytest.skip("needs root: `make grade` as root in a folder only root can enter")


@pytest.mark.slow
def test_make_grade_in_a_fresh_clone_under_a_private_folder(root_only):
    """Root's home and every mktemp -d folder are 0700: a slot uid cannot enter them."""
    top = Path(tempfile.mkdtemp(prefix="hw2-clone-"))
    try:
        assert stat.S_IMODE(top.stat().st_mode) == 0o700
        repo = top / "hw2"
        _clone(repo)
        p, seconds = _make_grade(repo)
        _check_graded(repo, p)
        print(f"make grade in a fresh clone under a 0700 folder: {seconds:.0f} s")
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.mark.slow
def test_make_grade_in_a_fresh_clone_whose_path_has_spaces_and_non_ascii(root_only):
    top = Path(tempfile.mkdtemp(prefix="hw2-clone-"))
    try:
        top.chmod(0o755)
        repo = top / "Ünï wö rk" / "hw2 (ß 日本)"
        repo.parent.mkdir()
        _clone(repo)
        p, seconds = _make_grade(repo)
        _check_graded(repo, p)
        print(f"make grade in a fresh clone under {repo}: {seconds:.0f} s")
    finally:
        shutil.rmtree(top, ignore_errors=True)


# -- what each set-up profile installs ----------------------------------------------------------


def _apt_wanted(profile: str, tmp: Path) -> list[str]:
    """The Debian packages scripts/setup.sh PROFILE wants when none is installed: a dpkg-query
    that knows of nothing and an apt-get that records its arguments and fails stop it there,
    before anything is built."""
    bin_dir = tmp / f"bin-{profile}"
    bin_dir.mkdir()
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    log = tmp / f"apt-{profile}.log"
    (bin_dir / "apt-get").write_text(
        f'#!/bin/sh\n[ "$1" = update ] && exit 0\necho "$@" >>"{log}"\nexit 1\n'
    )
    for tool in ("dpkg-query", "apt-get"):
        os.chmod(bin_dir / tool, 0o755)
    repo = tmp / f"repo-{profile}"
    shutil.copytree(REPO / "scripts", repo / "scripts")
    for name in ("requirements.txt", "requirements-sandbox.txt", "requirements-pdf.txt",
                 "requirements-test.txt"):  # fmt: skip
        shutil.copy(REPO / name, repo / name)
    env = {**_user_env(), "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp / "home")}
    p = subprocess.run(["bash", "scripts/setup.sh", profile], cwd=repo, env=env,
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert p.returncode != 0 and not (repo / ".venv").exists(), p.stderr
    if os.geteuid() == 0:
        installs = [ln.split() for ln in log.read_text().splitlines() if "install" in ln.split()]
        assert len(installs) == 1, log.read_text()
        return [w for w in installs[0] if not w.startswith("-") and w != "install"]
    [line] = [ln for ln in p.stderr.splitlines() if "apt-get install" in ln]
    return line.split("--no-install-recommends", 1)[1].split()


def test_each_set_up_installs_only_what_its_command_needs(tmp_path):
    """`make grade`: no browser; the Gradescope image: no TeX either; `make test`: both."""
    grade = _apt_wanted("grade", tmp_path)
    gradescope = _apt_wanted("gradescope", tmp_path)
    test = _apt_wanted("test", tmp_path)
    assert {"bubblewrap", "python3-venv"} <= set(gradescope)
    assert "chromium" not in grade and "texlive-xetex" in grade and "pandoc" in grade
    assert not any(p.startswith(("texlive", "pandoc", "chromium")) for p in gradescope)
    assert set(grade) < set(test) and "chromium" in test
    # The venv's packages: test-only ones come with requirements-test.txt alone.
    grading = (REPO / "requirements.txt").read_text()
    for name in ("playwright", "pytest-xdist", "hypothesis", "ruff", "otter-grader", "nbgrader"):
        assert f"\n{name}==" not in grading, name
        assert f"\n{name}==" in (REPO / "requirements-test.txt").read_text(), name
