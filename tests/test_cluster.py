"""Grading on a Dask cluster (autograder/cluster): real schedulers and workers on 127.0.0.1.

A real `dask scheduler` (a stock one: it never imports the autograder) and two worker
processes started by `hw2 worker` grade the examples, a hostile subset and the corpus:
the gradebook equals a local run's. Then the faults: a worker SIGKILLed mid-batch, a
submission whose workers are killed whenever they run it, the client killed (the rerun
resumes), the scheduler killed (one line, non-zero, the results kept); refused workers
(other versions, no sandbox); TLS on, and TLS required. Last, a one-node Slurm cluster
(Debian's slurmctld, slurmd and munge, started here) runs `hw2 grade --cluster slurm`.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from examples.build_examples import submission
from tests.conftest import REPO
from tests.corpus import SUBMISSIONS as CORPUS
from tests.hostile import Case

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow
HOSTILE = [
    "binary_junk",
    "empty_file",
    "not_json",
    "exit_top_level",
    "exit_in_call",
    "fork_spray",
    "steal_files",
    "link_instructor",
    "escape_sequences",
    "nbformat3",
]
# A scheduler gives up on a task after this many of its workers died (then KilledWorker).
ENV = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
TIMING = ("execution_time", "seconds")


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, **ENV, **extra}


class Cluster:
    """A scheduler on 127.0.0.1 (port 0, a scheduler file) and `hw2 worker` processes."""

    def __init__(self, folder: Path, tls: list[str] | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.tls = folder, tls or []
        protocol = ["--protocol", "tls"] if self.tls else []
        self.file = folder / "scheduler.json"
        self.procs: list[subprocess.Popen[bytes]] = []
        # Started outside the checkout, without PYTHONPATH: a stock scheduler.
        cmd = [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(self.file),
            *self.tls,
            *protocol,
        ]
        self.scheduler = self._start(cmd, cwd=folder)
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert self.file.exists(), "the scheduler did not start"
        self.address = json.loads(self.file.read_text())["address"]

    def _start(self, cmd: list[str], cwd: Path, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"proc{len(self.procs)}.log", "wb")
        p = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(p)
        return p

    def worker(
        self, *args: str, repo: Path = REPO, prefix: list[str] | None = None, **env: str
    ) -> subprocess.Popen[bytes]:
        cmd = [
            *(prefix or []),
            sys.executable,
            "-m",
            "autograder",
            "worker",
            str(self.file),
            *args,
            *self.tls,
        ]
        return self._start(cmd, cwd=repo, **env)

    def client(self) -> distributed.Client:
        sec = None
        if self.tls:
            from distributed.security import Security

            t = dict(zip(self.tls[0::2], self.tls[1::2], strict=True))
            sec = Security(
                tls_ca_file=t["--tls-ca-file"],
                tls_client_cert=t["--tls-cert"],
                tls_client_key=t["--tls-key"],
                require_encryption=True,
            )
        return distributed.Client(self.address, security=sec, timeout=30, set_as_default=False)

    def wait_workers(self, n: int) -> None:
        with self.client() as c:
            c.wait_for_workers(n, timeout=120)

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        c.worker("--nworkers", "2")
        c.wait_workers(2)
        yield c
    finally:
        c.close()


def grade(folder: Path, out: Path, *extra: str, wait: bool = True) -> subprocess.Popen[bytes]:
    p = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(out), *extra],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    if wait:
        p.out, p.err = (b.decode() for b in p.communicate(timeout=900))  # type: ignore[attr-defined]
    return p


def _running(p: subprocess.Popen[bytes], deadline: float) -> bool:
    """Still worth waiting for: ``p`` runs and the deadline has not passed."""
    if p.poll() is not None:
        pytest.fail(f"grade exited early ({p.returncode}): {p.stderr.read().decode()[-3000:]}")
    return time.monotonic() < deadline


def rows(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(open(out / "grades.csv", encoding="utf-8")))


def results(out: Path) -> dict[str, dict]:
    found = {}
    for p in sorted((out / "results").glob("*.json")):
        data = json.loads(p.read_text())
        for k in TIMING:
            data.pop(k, None)
        found[p.name] = data
    return found


def _class(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        shutil.copy(
            REPO
            / "examples/submissions"
            / ("correct.ipynb", "typical_mistakes.ipynb", "stub.ipynb")[i % 3],
            folder / f"s{i:02}.ipynb",
        )
    return folder


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """The examples, a hostile subset and the corpus in one folder."""
    import importlib

    folder = tmp_path_factory.mktemp("mixed")
    for p in (REPO / "examples/submissions").glob("*.ipynb"):
        shutil.copy(p, folder / p.name)
    for name in HOSTILE:
        case: Case = importlib.import_module(f"tests.hostile.{name}").CASE
        case.create(folder, name, 9)  # port 9: these cases open no connection
    for name, cells in CORPUS.items():
        nbformat.write(submission(cells), folder / f"corpus_{name}.ipynb")
    return folder


def test_cluster_gradebook_equals_local(cluster, mixed, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "remote"
    a = grade(mixed, local, "--no-pdf", "--jobs", "2")
    b = grade(mixed, remote, "--no-pdf", "--cluster", str(cluster.file))
    assert b.returncode == a.returncode, b.err
    assert (remote / "grades.csv").read_bytes() == (local / "grades.csv").read_bytes()
    assert results(remote) == results(local)
    graded = [r for r in rows(remote) if r["status"] == "graded"]
    assert len(graded) >= len(CORPUS) + 3, "the corpus and the examples were graded"
    assert all(r["isolation"] == "full" for r in graded) or os.geteuid() != 0


def test_pdfs_are_made_on_the_workers(cluster, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(REPO / "examples/submissions/typical_mistakes.ipynb", folder)
    out = tmp_path / "out"
    p = grade(folder, out, "--cluster", str(cluster.file))
    assert p.returncode == 0, p.err
    pdf = (out / "pdf" / "typical_mistakes.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
    assert "typical_mistakes,yes" in (out / "pdf" / "status.csv").read_text()


def _worker_pids(cluster: Cluster) -> dict[str, int]:
    with cluster.client() as c:
        return c.run(os.getpid)


def test_sigkill_of_a_worker_mid_batch(cluster, tmp_path):
    folder, out = _class(tmp_path / "class", 12), tmp_path / "out"
    p = grade(folder, out, "--no-pdf", "--cluster", str(cluster.file), wait=False)
    deadline = time.monotonic() + 300
    while _running(p, deadline) and len(list((out / ".state").glob("*.json"))) < 2:
        time.sleep(0.1)
    victim = next(iter(_worker_pids(cluster).values()))
    os.kill(victim, signal.SIGKILL)
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err.decode()
    got = rows(out)
    assert sorted(r["student"] for r in got) == [f"s{i:02}" for i in range(12)]
    assert all(r["status"] == "graded" for r in got), got
    cluster.wait_workers(2)  # the nanny restarted it


def test_a_submission_that_kills_its_workers_gets_a_row(cluster, tmp_path):
    """A watcher SIGKILLs any worker that runs the `poison` submission."""
    folder = _class(tmp_path / "class", 4)
    shutil.copy(REPO / "examples/submissions/correct.ipynb", folder / "poison.ipynb")
    out = tmp_path / "out"
    p = grade(folder, out, "--no-pdf", "--cluster", str(cluster.file), wait=False)
    kills = 0
    with cluster.client() as c:
        while p.poll() is None:
            try:
                running = c.run(_EXECUTING, on_error="return")
            except Exception:
                time.sleep(0.2)
                continue
            for keys in running.values():
                if isinstance(keys, list) and any("poison" in k for k in keys[1:]):
                    os.kill(keys[0], signal.SIGKILL)
                    kills += 1
            time.sleep(0.1)
    err = p.stderr.read().decode()
    assert p.returncode == 1, err  # a failed row: grading is incomplete
    got = {r["student"]: r for r in rows(out)}
    assert sorted(got) == ["poison", "s00", "s01", "s02", "s03"]
    assert got["poison"]["status"] == "failed"
    assert "crashed" in got["poison"]["note"] and "Dask workers" in got["poison"]["note"]
    assert all(got[s]["status"] == "graded" for s in got if s != "poison"), got
    assert 2 <= kills <= 8, kills  # bounded: allowed-failures + 1 deaths, twice
    cluster.wait_workers(2)


# The worker's pid and the keys it is running now (a lambda: cloudpickle ships its code).
_EXECUTING = lambda dask_worker: [os.getpid()] + [str(t.key) for t in dask_worker.state.executing]  # noqa: E731


def test_client_killed_then_rerun_resumes_and_scheduler_gone(tmp_path):
    """Kill the client mid-batch: the rerun resumes. Kill the scheduler: one line, exit 1,
    every result already graded kept for the next run."""
    c = Cluster(tmp_path / "dask")
    try:
        c.worker("--nworkers", "2")
        c.wait_workers(2)
        folder = _class(tmp_path / "class", 12)
        out = tmp_path / "out"
        p = grade(folder, out, "--no-pdf", "--cluster", str(c.file), wait=False)
        deadline = time.monotonic() + 300
        while _running(p, deadline) and len(list((out / ".state").glob("*.json"))) < 2:
            time.sleep(0.05)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        done = len(list((out / ".state").glob("*.json")))
        assert 2 <= done < 12, "the kill did not land mid-batch"

        p = grade(folder, out, "--no-pdf", "--cluster", str(c.file), wait=False)
        deadline = time.monotonic() + 300
        while _running(p, deadline) and len(list((out / ".state").glob("*.json"))) < done + 2:
            time.sleep(0.05)
        os.killpg(c.scheduler.pid, signal.SIGKILL)
        _, err = p.communicate(timeout=300)
        err = err.decode()
        assert p.returncode == 1, err
        assert f"reused {done} unchanged results" not in err  # it did not get that far
        last = err.strip().splitlines()[-1]
        assert last.startswith("error: the Dask scheduler at") and "gone" in last, err
        kept = len(list((out / ".state").glob("*.json")))
        assert kept >= done + 2
    finally:
        c.close()
    c = Cluster(tmp_path / "dask2")
    try:
        c.worker("--nworkers", "2")
        c.wait_workers(2)
        p = grade(folder, out, "--no-pdf", "--cluster", str(c.file))
        assert p.returncode == 0, p.err
        assert f"reused {kept} unchanged results" in p.err
        assert sorted(r["student"] for r in rows(out)) == [f"s{i:02}" for i in range(12)]
    finally:
        c.close()


def test_workers_of_other_versions_or_without_a_sandbox_are_refused(tmp_path):
    alt = tmp_path / "alt"  # a checkout whose hidden graders differ by one line
    shutil.copytree(
        REPO / "autograder", alt / "autograder", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO / "solutions", alt / "solutions")
    with open(alt / "autograder/graders/test_part2_descent.py", "a") as f:
        f.write("\n# another version of the graders\n")
    c = Cluster(tmp_path / "dask")
    try:
        from autograder.run.sandbox import default_runtime

        c.worker(repo=alt, HW2_SANDBOX_RUNTIME=str(default_runtime()))
        c.worker("--unsafe-no-sandbox")
        c.worker(repo=alt)  # no sandbox runtime recorded in that checkout: no sandbox
        c.wait_workers(3)
        folder = _class(tmp_path / "class", 1)
        p = grade(
            folder, tmp_path / "out", "--no-pdf", "--cluster", str(c.file), "--cluster-wait", "5"
        )
        assert p.returncode == 1
        lines = p.err.strip().splitlines()
        assert any("refused worker" in ln and "its assignment version is" in ln for ln in lines), (
            p.err
        )
        assert any(
            "refused worker" in ln and "isolation level is none, below --min-isolation uid" in ln
            for ln in lines
        ), p.err
        assert any(
            "could not set up grading: SandboxUnavailable: no sandbox runtime" in ln for ln in lines
        ), p.err
        assert lines[-1].startswith("error: no worker of"), p.err
        assert not (tmp_path / "out" / "grades.csv").exists()
    finally:
        c.close()


def test_min_isolation_refuses_weaker_workers_and_rows_record_the_level(tmp_path):
    """A worker whose namespaces are denied (scripts/deny_userns.py, as Docker's default
    seccomp profile does) grades at the uid level: `--min-isolation rootless` refuses it;
    by default it grades, and the rows say uid."""
    from tests import levels

    if why := levels.unavailable("uid"):
        pytest.skip(why)
    c = Cluster(tmp_path / "dask")
    try:
        c.worker(prefix=levels.DENY_USERNS)
        c.wait_workers(1)
        folder = _class(tmp_path / "class", 2)
        p = grade(
            folder,
            tmp_path / "strict",
            "--no-pdf",
            "--cluster",
            str(c.file),
            "--min-isolation",
            "rootless",
            "--cluster-wait",
            "5",
        )
        assert p.returncode == 1
        assert "its isolation level is uid, below --min-isolation rootless" in p.err, p.err
        p = grade(folder, tmp_path / "out", "--no-pdf", "--cluster", str(c.file))
        assert p.returncode == 0, p.err
        assert [r["isolation"] for r in rows(tmp_path / "out")] == ["uid", "uid"]
        assert [r["status"] for r in rows(tmp_path / "out")] == ["graded", "graded"]
        assert "isolation: uid" in p.out
    finally:
        c.close()


# -- TLS ------------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(folder: Path, name: str = "hw2") -> list[str]:
    """A CA and one certificate for 127.0.0.1 (the README's commands)."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-subj",
        f"/CN={name}-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        cwd=folder,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={name}",
        "-keyout",
        "node.key",
        "-out",
        "node.csr",
        cwd=folder,
    )
    (folder / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "node.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        "ext.cnf",
        "-out",
        "node.pem",
        cwd=folder,
    )
    return [
        "--tls-ca-file",
        str(folder / "ca.pem"),
        "--tls-cert",
        str(folder / "node.pem"),
        "--tls-key",
        str(folder / "node.key"),
    ]


def test_tls_grades_and_refuses_a_client_without_the_certificate(tmp_path):
    tls = make_certificates(tmp_path / "certs")
    c = Cluster(tmp_path / "dask", tls=tls)
    try:
        assert c.address.startswith("tls://")
        c.worker("--nworkers", "1")
        c.wait_workers(1)
        folder = _class(tmp_path / "class", 2)
        out = tmp_path / "out"
        p = grade(folder, out, "--no-pdf", "--cluster", str(c.file), *tls)
        assert p.returncode == 0, p.err
        assert [r["status"] for r in rows(out)] == ["graded", "graded"]

        # hw2 without certificates refuses a tls:// scheduler before connecting …
        p = grade(folder, tmp_path / "o2", "--no-pdf", "--cluster", c.address)
        assert p.returncode == 2 and "needs --tls-ca-file" in p.err
        # … and the scheduler: a TLS client trusting the CA but with no certificate of its
        # own is cut off at the handshake (Dask's TLS is mutual) …
        import socket
        import ssl

        host, port = c.address.removeprefix("tls://").rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=tls[1])
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            try:
                with ctx.wrap_socket(raw, server_hostname=host) as conn:
                    assert conn.recv(1) == b"", "a client without a certificate was served"
            except (ssl.SSLError, ConnectionError):
                pass  # refused: the server demands a certificate signed by the CA
        # … and Dask clients with another CA's certificate, or plain tcp, cannot connect.
        other = make_certificates(tmp_path / "other", "intruder")
        from distributed.security import Security

        attempts = {
            "another CA": (
                c.address,
                Security(
                    tls_ca_file=other[1],
                    tls_client_cert=other[3],
                    tls_client_key=other[5],
                    require_encryption=True,
                ),
            ),
            "plain tcp": (c.address.replace("tls://", "tcp://"), None),
        }
        for what, (addr, sec) in attempts.items():
            with pytest.raises((OSError, TimeoutError)):
                distributed.Client(addr, security=sec, timeout=5, set_as_default=False)
                pytest.fail(f"a client with {what} connected")
    finally:
        c.close()


@pytest.mark.parametrize("command", ["grade", "worker"])
def test_an_address_off_loopback_requires_tls(command, tmp_path):
    args = {
        "grade": [
            "grade",
            str(REPO / "examples/submissions"),
            "--out",
            str(tmp_path / "o"),
            "--cluster",
            "tcp://192.0.2.7:8786",
        ],
        "worker": ["worker", "tcp://192.0.2.7:8786"],
    }[command]
    p = subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "error: tcp://192.0.2.7:8786 is not on this machine: Dask runs whatever it is sent, so "
        "off loopback it needs TLS (--tls-ca-file, --tls-cert, --tls-key; README: More than one "
        "machine)"
    ]
    assert not (tmp_path / "o").exists()


# -- Slurm ----------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SLURM_CONF = """\
ClusterName=hw2test
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/munge
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
ReturnToService=2
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=1
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=hw2 Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture
def slurm(tmp_path) -> Iterator[Path]:
    """A one-node Slurm cluster: munged (as munge), slurmctld and slurmd, in the foreground."""
    if os.geteuid() != 0:
        pytest.skip("the one-node Slurm cluster needs root (slurmd runs jobs as their user)")
    missing = [b for b in ("munged", "slurmctld", "slurmd", "sbatch") if not shutil.which(b)]
    if missing:
        pytest.skip(
            f"Slurm is not installed (apt-get install slurmctld slurmd slurm-client "
            f"munge): missing {', '.join(missing)}"
        )
    import socket

    d = tmp_path / "slurm"
    for sub in ("state", "spool"):
        (d / sub).mkdir(parents=True)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 - 1024
    conf = d / "slurm.conf"
    conf.write_text(
        SLURM_CONF.format(
            host=socket.gethostname(),
            dir=d,
            cpus=os.cpu_count(),
            memory=memory,
            ctld_port=_free_port(),
            d_port=_free_port(),
        )
    )
    procs = []
    try:
        if subprocess.run(["munge", "-n"], capture_output=True).returncode != 0:
            Path("/run/munge").mkdir(exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            key = Path("/etc/munge/munge.key")
            if not key.exists():
                subprocess.run(["mungekey", "-c", "-k", str(key)], check=True)
                shutil.chown(key, "munge", "munge")
            procs.append(
                subprocess.Popen(
                    [
                        "setpriv",
                        "--reuid=munge",
                        "--regid=munge",
                        "--init-groups",
                        "/usr/sbin/munged",
                        "-F",
                    ],
                    start_new_session=True,
                )
            )
            deadline = time.monotonic() + 20
            while subprocess.run(["munge", "-n"], capture_output=True).returncode != 0:
                assert time.monotonic() < deadline, "munged did not start"
                time.sleep(0.2)
        env = {**os.environ, "SLURM_CONF": str(conf)}
        for daemon in ("slurmctld", "slurmd"):
            procs.append(
                subprocess.Popen(
                    [f"/usr/sbin/{daemon}", "-D", "-f", str(conf)],
                    env=env,
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + 60
        while True:
            p = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True)
            if p.stdout.strip() == "idle":
                break
            assert time.monotonic() < deadline, f"slurm did not come up: {p.stdout}{p.stderr}"
            time.sleep(0.3)
        yield conf
    finally:
        if procs and (conf.exists()):
            subprocess.run(
                ["scancel", "--full", "-u", "root"],
                capture_output=True,
                env={**os.environ, "SLURM_CONF": str(conf)},
            )
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_slurm_grades_the_examples_through_dask_jobqueue(slurm, tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_CONF", str(slurm))
    examples = REPO / "examples/submissions"
    local = grade(examples, tmp_path / "local", "--no-pdf", "--jobs", "2")
    p = grade(examples, tmp_path / "slurm", "--no-pdf", "--cluster", "slurm", "--workers", "2")
    assert p.returncode == local.returncode == 0, p.err
    assert (tmp_path / "slurm/grades.csv").read_bytes() == (
        tmp_path / "local/grades.csv"
    ).read_bytes()
    assert results(tmp_path / "slurm") == results(tmp_path / "local")
    from autograder.cluster.slurm import slurm_logs

    assert list(slurm_logs().glob("hw2-grade-*.out")), "the jobs' logs"
    assert not list(REPO.glob("slurm-*.out")), "a job wrote into the checkout's root"
    deadline = time.monotonic() + 60  # the jobs go with the command
    while (q := subprocess.run(["squeue", "-h"], capture_output=True, text=True)).stdout.strip():
        assert time.monotonic() < deadline, q.stdout
        time.sleep(0.5)
