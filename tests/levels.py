"""Running the grader at each isolation level this machine can provide, as its users would.

- full: this (root) process, as is;
- uid: root, with namespace creation denied by scripts/deny_userns.py (a seccomp filter on
  the grading process tree only, as Docker's default profile does);
- rootless: an ordinary user the tests create (``hw2-rootless``), running a private copy of
  the repo with the grader runtime's Python (requirements.txt on Debian's /usr/bin/python3,
  built by ``scripts/setup.sh test`` in /opt/hw2-autograder), since this checkout and its
  .venv may be under a folder that user cannot enter (root's home, a ``mktemp -d`` folder).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

LEVELS = ("full", "rootless", "uid")
USER = "hw2-rootless"
DENY_USERNS = [sys.executable, str(REPO / "scripts" / "deny_userns.py")]


def runtime() -> str:
    from autograder.run.sandbox import default_runtime

    return str(default_runtime())


def grader_runtime() -> Path | None:
    """The grader runtime: requirements.txt in a venv every uid can read, or None."""
    from autograder.run.sandbox import recorded_runtime

    found = recorded_runtime("grader-runtime", "HW2_GRADER_RUNTIME")
    return found if found is not None and (found / "bin" / "python").exists() else None


def user_env(home: Path) -> dict[str, str]:
    """The environment of the tests' ordinary user: the runtimes named, nothing of root's."""
    from autograder.report.pdf_sandbox import pdf_runtime

    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "HW2_SANDBOX_RUNTIME": runtime(),
        "HW2_PDF_RUNTIME": str(pdf_runtime()),
    }
    for key in ("HW2_SANDBOX_SLOTS",):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def ensure_user(name: str = USER) -> pwd.struct_passwd:
    """An ordinary user the rootless tests run as (created once, left for later runs)."""
    why = b""
    for _ in range(20):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
        # Another test worker may hold /etc/passwd's lock while it adds its own user.
        p = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", name],
            capture_output=True,
        )  # fmt: skip
        if p.returncode not in (0, 9):  # 9: the name exists already
            why = p.stderr
            time.sleep(0.5)
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise RuntimeError(f"useradd {name} failed: {why.decode(errors='replace')}") from None


def unavailable(level: str) -> str | None:
    """Why ``level`` cannot be tried on this machine, or None."""
    if os.geteuid() != 0:
        return "the level tests start as root (they create a user and drop to it)"
    if level == "rootless" and not shutil.which("runuser"):
        return "needs runuser (Debian package util-linux)"
    if level == "rootless" and grader_runtime() is None:
        return "needs the grader runtime: `make test` builds it (scripts/setup.sh test, as root)"
    if level == "uid":
        p = subprocess.run([*DENY_USERNS, "true"], capture_output=True)
        if p.returncode != 0:
            return "the seccomp launcher cannot run here"
    return None


@dataclass
class Place:
    """Where a level's run happens: its repo, a scratch folder it owns, how to run it."""

    level: str
    repo: Path
    scratch: Path
    prefix: list[str]
    env: dict[str, str]
    python: str
    uid: int
    top: Path

    def run(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        kw.setdefault("env", self.env)
        return subprocess.run(self.command(args), cwd=self.repo, **kw)

    def command(self, args: list[str]) -> list[str]:
        return [*self.prefix, self.python, *args]

    def cleanup(self) -> None:
        shutil.rmtree(self.top, ignore_errors=True)


def copy_repo(dest: Path) -> None:
    """This checkout's tracked files, copied into ``dest``."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = REPO / name.decode()
        if src.is_file():
            (dest / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name.decode())


def place(level: str, user_name: str = USER) -> Place:
    """Set up a run at ``level``; the caller calls .cleanup().

    Rootless, it runs as ``user_name``: a test that counts that user's processes
    afterwards needs a user no other test runs as at the same time."""
    env = {**os.environ}
    if level == "rootless":
        user = ensure_user(user_name)
        top = Path(tempfile.mkdtemp(prefix="hw2-rootless-"))
        repo, scratch = top / "repo", top / "scratch"
        repo.mkdir()
        scratch.mkdir()
        copy_repo(repo)
        (scratch / "home").mkdir()
        for path in (top, *top.rglob("*")):
            os.lchown(path, user.pw_uid, user.pw_gid)
        os.chmod(top, 0o700)
        env = user_env(scratch / "home")
        prefix = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", user_name, "--"]
        python = str(grader_runtime() / "bin" / "python")
        return Place(level, repo, scratch, prefix, env, python, user.pw_uid, top)
    if level == "uid":
        # The uid level refuses a repo other users can read (no mount namespace hides it,
        # and it never changes modes): run it on a copy inside a private folder, so this
        # checkout stays readable to the sandboxes of the other levels' tests.
        top = Path(tempfile.mkdtemp(prefix="hw2-uid-"))
        repo, scratch = top / "repo", top / "scratch"
        repo.mkdir()
        scratch.mkdir()
        copy_repo(repo)
        # the copy has no .venv of its own to record where set-up put the runtimes
        env["HW2_SANDBOX_RUNTIME"] = runtime()
        env["HW2_PDF_RUNTIME"] = user_env(scratch)["HW2_PDF_RUNTIME"]
        return Place(level, repo, scratch, DENY_USERNS, env, sys.executable, 0, top)
    scratch = Path(tempfile.mkdtemp(prefix=f"hw2-{level}-"))
    return Place(level, REPO, scratch, [], env, sys.executable, 0, scratch)
