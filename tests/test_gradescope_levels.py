"""The Gradescope zip as Gradescope runs it: as root, in a container that denies user namespaces.

setup.sh and run_autograder run under scripts/deny_userns.py (the seccomp filter Docker's
default profile amounts to, on this process tree only). They grade at the uid level and
must score correct, buggy and hostile submissions as this machine's full level does.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.integrations import gradescope
from autograder.rubric import load_rubric
from tests import levels
from tests.conftest import REPO
from tests.hostile import Case
from tests.hostile.fork_spray import CASE as FORK_SPRAY
from tests.hostile.steal_files import CASE as STEAL_FILES

AUTO_MAX = load_rubric().auto_points  # a correct notebook's autograded score

EXAMPLES = REPO / "examples" / "submissions"
AWKWARD = ["my hw2 (final).ipynb", "it's \"done\".ipynb", "$(touch pwned).ipynb",
           "-rf.ipynb", "Müller_ß_日本.ipynb"]  # fmt: skip
SUBMISSIONS: dict[str, bytes | Case] = {
    "correct": (EXAMPLES / "correct.ipynb").read_bytes(),
    "typical_mistakes": (EXAMPLES / "typical_mistakes.ipynb").read_bytes(),
    "fork_spray": FORK_SPRAY,
    "steal_files": STEAL_FILES,
}


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """/autograder as Gradescope's image build leaves it: the zip unpacked, setup.sh run."""
    if why := levels.unavailable("uid"):
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("gradescope")
    root = tmp / "autograder"
    for d in ("source", "submission", "results"):
        (root / d).mkdir(parents=True)
    with zipfile.ZipFile(gradescope.build_zip(tmp / "build")) as zf:
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder", "scripts/setup.sh"):
        os.chmod(root / "source" / name, 0o755)
    # The venv is this repo's (its requirements stamp matches, so setup.sh installs nothing).
    (root / "source" / ".venv").symlink_to(REPO / ".venv")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_SKIP_APT="1")
    p = subprocess.run([*levels.DENY_USERNS, "bash", str(root / "source" / "setup.sh")],
                       env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    return root, env


def _run(root: Path, env: dict, files: dict[str, bytes]) -> tuple[dict, str]:
    sub = root / "submission"
    shutil.rmtree(sub)
    sub.mkdir()
    for name, data in files.items():
        (sub / name).write_bytes(data)
    (root / "results" / "results.json").unlink(missing_ok=True)
    p = subprocess.run([*levels.DENY_USERNS, str(root / "run_autograder")], env=env,
                       capture_output=True, text=True, timeout=600, cwd=root)  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8")), p.stdout


def _bytes(sub: bytes | Case) -> bytes:
    return sub if isinstance(sub, bytes) else sub.build(9)  # port 9: discard, nobody listens


@pytest.fixture(scope="module")
def here(tmp_path_factory):
    """The same submissions graded on this machine at its strongest level."""
    folder = tmp_path_factory.mktemp("here")
    for name, sub in SUBMISSIONS.items():
        (folder / f"{name}.ipynb").write_bytes(_bytes(sub))
    out = folder / "out"
    p = subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--out",
                        str(out), "--no-pdf", "--jobs", "2"],
                       cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert p.returncode == 0, p.stderr
    return {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_scores_under_denied_user_namespaces_match_this_machine(image, here, name):
    root, env = image
    data, log = _run(root, env, {"hw2.ipynb": _bytes(SUBMISSIONS[name])})
    assert data["extra_data"]["isolation"] == "uid", log
    assert data["score"] == pytest.approx(float(here[name]["auto_total"]))
    # Only the autograded part: max 4, one test per hidden check, nothing written.
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(AUTO_MAX)
    assert all("manual" not in t["tags"] for t in data["tests"])
    assert "written" not in json.dumps(data).lower()
    assert "pending manual" not in data["output"].lower()


@pytest.mark.slow
@pytest.mark.parametrize("upload", AWKWARD)
def test_awkward_upload_names_are_graded_safely(image, upload, tmp_path):
    root, env = image
    before = set(Path.cwd().iterdir()), set(root.iterdir())
    data, _ = _run(root, env, {upload: (EXAMPLES / "correct.ipynb").read_bytes()})
    assert data["score"] == AUTO_MAX, data["output"]
    assert not (root / "pwned").exists() and not Path("pwned").exists()
    assert (set(Path.cwd().iterdir()), set(root.iterdir())) == before


@pytest.mark.slow
def test_several_or_no_notebooks_get_a_clear_message(image):
    root, env = image
    nb = (EXAMPLES / "correct.ipynb").read_bytes()
    data, _ = _run(root, env, {"a.ipynb": nb, "b\x1b[2J.ipynb": nb})
    assert data["score"] == 0
    assert "several notebooks" in data["output"] and "upload only hw2.ipynb" in data["output"]
    assert "\x1b" not in data["output"]  # the name is shown escaped
    data, _ = _run(root, env, {"hw2.ipynb": nb, "old.ipynb": nb})
    assert data["score"] == AUTO_MAX and "ignored" in data["output"]
    data, _ = _run(root, env, {"notes.txt": b"hello"})
    assert data["score"] == 0 and "no Jupyter notebook" in data["output"]


@pytest.mark.slow
def test_when_no_level_is_possible_the_student_gets_one_sentence(image, tmp_path):
    """No setpriv in the container (so not even the uid level): a sentence, the reason logged."""
    root, env = image
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bwrap", "prlimit", "env", "bash"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    data, log = _run(root, {**env, "PATH": str(bin_dir)},
                     {"hw2.ipynb": (EXAMPLES / "correct.ipynb").read_bytes()})  # fmt: skip
    assert data["score"] == 0
    sentence = "the autograder could not run; please tell your instructor."
    assert data["output"] == f"Not graded: {sentence}"
    assert "`setpriv` is not installed" in log and "apt-get install" in log
