"""cli: one command line (`hw2`), one source of defaults, one clear line for a bad option."""

from __future__ import annotations

import argparse
import ast
import fnmatch
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from autograder import PACKAGE_DIR, REPO_DIR, cli
from autograder.pipeline import GradeOptions
from autograder.run.sandbox import Limits

COMMANDS = ("grade", "review", "pdf", "release", "nbgrader-course", "otter", "gradescope", "bench",
            "worker")  # fmt: skip


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def argparse_importers(package: Path) -> list[str]:
    """Modules under ``package`` that import argparse, other than cli.py."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "cli.py" and path.parent == package:
            continue
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(n.split(".")[0] == "argparse" for n in names):
                found.append(path.relative_to(package).as_posix())
                break
    return found


def unpackaged_files(package: Path, pyproject: Path) -> list[str]:
    """Files under ``package`` that are neither modules nor in pyproject's package data."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"]
    patterns = config["package-data"]["autograder"]
    missing = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package).as_posix()
        if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        if not any(fnmatch.fnmatchcase(rel, p) for p in patterns):
            missing.append(rel)
    return missing


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS), out
    assert set(_subcommands(cli.build_parser())) == set(COMMANDS)


def test_each_subcommand_help_lists_its_options():
    subs = _subcommands(cli.build_parser())
    expect = {
        "grade": ["--out", "--jobs", "--no-pdf", "--timeout", "--memory", "--roster", "--force"],
        "review": ["--port", "--host", "--export", "--jobs"],
        "pdf": ["NOTEBOOK", "DEST.pdf", "--example-page"],
        "release": ["--source", "--dest"],
        "nbgrader-course": ["DEST", "--generate", "--import-grades"],
        "otter": ["DEST", "--assign", "--run-tests"],
        "gradescope": ["OUT_DIR", "--run"],
        "bench": ["run", "review", "isolation", "pdf", "cluster"],
        "worker": ["ADDRESS", "--nworkers", "--tls-ca-file", "--tls-cert", "--tls-key"],
    }
    for name, options in expect.items():
        text = subs[name].format_help()
        assert all(o in text for o in options), (name, text)
    benches = _subcommands(subs["bench"])
    assert "--otter-sample" in benches["run"].format_help()
    assert "--grade-n" in benches["pdf"].format_help()
    grade = subs["grade"].format_help()
    assert all(o in grade for o in ("--cluster", "--workers", "--min-isolation", "--tls-ca-file"))


def test_installed_console_script_lists_every_subcommand():
    hw2 = Path(sys.executable).parent / "hw2"
    if not hw2.exists():
        hw2 = shutil.which("hw2")
    if hw2 is None:
        pytest.skip("no hw2 console script in this venv (scripts/setup.sh installs it)")
    p = subprocess.run([str(hw2), "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert all(name in p.stdout for name in COMMANDS), p.stdout
    # From any folder, `hw2 bench` finds its checkout's examples/ and tests/ (it gets as far
    # as checking its options).
    p = subprocess.run([str(hw2), "bench", "pdf", "--copies", "0"], capture_output=True,
                       text=True, timeout=60, cwd="/")  # fmt: skip
    assert p.returncode == 2 and "--copies must be at least 1" in p.stderr, p.stderr


def test_no_module_but_cli_parses_a_command_line():
    assert argparse_importers(PACKAGE_DIR) == []


def test_the_argparse_check_finds_a_second_command_line(tmp_path: Path):
    (tmp_path / "cli.py").write_text("import argparse\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "tool.py").write_text("def main():\n    from argparse import Namespace\n")
    assert argparse_importers(tmp_path) == ["sub/tool.py"]


def test_cli_defaults_are_the_limits_defaults():
    args = cli.build_parser().parse_args(["grade", "nb.ipynb", "--out", "o"])
    default = Limits()
    assert args.timeout == default.cell_timeout == default.call_timeout
    assert args.memory == default.memory_mb
    # What `make grade` grades under is what the tests and the docs/ figure grade under.
    assert Limits.from_timeout(args.timeout, memory_mb=args.memory) == default
    assert GradeOptions(submissions=[], out=Path("o")).limits == default


def test_submission_budget_is_the_timeout_times_the_factor():
    assert Limits.from_timeout(20).submission_timeout == 300  # 15 × 20
    assert Limits.from_timeout(1).submission_timeout == 60  # at least a minute
    assert Limits.from_timeout(7, memory_mb=512).memory_mb == 512


def test_every_data_file_of_the_package_is_package_data():
    assert unpackaged_files(PACKAGE_DIR, REPO_DIR / "pyproject.toml") == []


def test_a_data_file_outside_package_data_is_found(tmp_path: Path):
    (tmp_path / "review" / "templates").mkdir(parents=True)
    (tmp_path / "review" / "templates" / "page.html").write_text("x")
    (tmp_path / "new.yaml").write_text("x")
    assert unpackaged_files(tmp_path, REPO_DIR / "pyproject.toml") == ["new.yaml"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["grade", "nb.ipynb", "--out", "o", "--timeout", "0"], "--timeout must be between"),
        (["grade", "nb.ipynb", "--out", "o", "--memory", "10"], "--memory must be between"),
        (["pdf"], "give a NOTEBOOK"),
        (["gradescope"], "OUT_DIR is required"),
        (["bench", "run", "--n", "0"], "--n must be at least 1"),
        (["bench", "run", "--scale", "ten"], "--scale takes class sizes"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, wherever it is run
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []
