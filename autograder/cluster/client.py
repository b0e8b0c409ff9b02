"""The trusted client of a Dask cluster: intake stays here, grading goes to workers.

``connect`` opens the cluster (a running scheduler, or workers started as Slurm jobs),
checks each worker's versions and isolation level, and yields a :class:`ClusterGrader`
whose ``grade_all`` and ``render_pdfs`` stand in for the local ones in
``pipeline.grade``. Only bytes go out (the notebooks, the results to render); only
plain data comes back (JSON text, PDF bytes), checked field by field before use.

Faults: a worker that dies takes its tasks' results with it, and the scheduler runs
them elsewhere (``distributed.scheduler.allowed-failures`` times; then KilledWorker).
A chunk that killed its workers is retried one submission at a time; a submission that
kills its workers alone gets a "failed" row. The first result of each submission is the
one written: a task that ran twice cannot make two rows.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from autograder.cluster import tasks, trampoline
from autograder.cluster.identity import at_least, difference, lowest, versions
from autograder.files import write_atomic
from autograder.grade.outcome import SubmissionResult, TestOutcome
from autograder.inert import visible
from autograder.report.pdf import PdfOutcome
from autograder.rubric import Rubric
from autograder.run.isolation import Level
from autograder.run.sandbox import Limits
from autograder.submissions import (
    Submission,
    UnreadableNotebook,
    read_notebook_bytes,
    read_submission,
)

CHUNK_MAX = 4  # as grade.batch: a chunk costs one pytest session on the worker
MAX_KILLED = 2  # KilledWorker errors (each: allowed-failures + 1 dead workers) per submission
MAX_PDF_BYTES = 64 << 20
_CALL, _CONFIG = trampoline.by_value(trampoline.call), trampoline.by_value(trampoline.config)
CRASHED = "the grading process crashed on this submission (it killed {n} Dask workers)"


class ClusterError(Exception):
    """The cluster cannot be used (address, TLS, no worker, scheduler gone): one line."""


@dataclass(frozen=True)
class ClusterOptions:
    address: str  # tcp://HOST:PORT, tls://HOST:PORT, a scheduler file, or "slurm"
    workers: int = 2  # Slurm: worker jobs to start
    min_isolation: Level = Level.UID
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    wait: float = 120.0  # seconds to wait for a worker that can grade
    slurm_queue: str | None = None
    slurm_walltime: str = "01:00:00"
    slurm_memory_mb: int = 4096

    @property
    def tls(self) -> bool:
        return self.tls_ca is not None


def security(options: ClusterOptions) -> Any:
    """Dask ``Security`` with the certificates (None without TLS)."""
    if not options.tls:
        return None
    missing = [
        n
        for n, p in (("--tls-cert", options.tls_cert), ("--tls-key", options.tls_key))
        if p is None
    ]
    if missing:
        raise ClusterError(f"--tls-ca-file needs {' and '.join(missing)} too")
    for path in (options.tls_ca, options.tls_cert, options.tls_key):
        if not Path(path).is_file():  # type: ignore[arg-type]
            raise ClusterError(f"TLS file not found: {path}")
    from distributed.security import Security

    return Security(
        tls_ca_file=str(options.tls_ca),
        tls_client_cert=str(options.tls_cert),
        tls_client_key=str(options.tls_key),
        tls_worker_cert=str(options.tls_cert),
        tls_worker_key=str(options.tls_key),
        tls_scheduler_cert=str(options.tls_cert),
        tls_scheduler_key=str(options.tls_key),
        require_encryption=True,
    )


def scheduler_address(address: str) -> str:
    """ADDRESS itself, or the address in a Dask scheduler file (``--scheduler-file``)."""
    if address.endswith(".json") or Path(address).is_file():
        try:
            found = json.loads(Path(address).read_text())["address"]
        except (OSError, ValueError, KeyError, TypeError):
            raise ClusterError(f"{address}: not a Dask scheduler file") from None
        if not isinstance(found, str):
            raise ClusterError(f"{address}: not a Dask scheduler file")
        return found
    return address


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is on this machine (127.0.0.0/8, ::1)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    addrs = {ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos}
    return bool(addrs) and all(a.is_loopback for a in addrs)


def check_address(address: str, tls: bool) -> None:
    """Refuse a scheduler off loopback without TLS, and plain tcp with TLS configured.

    Dask's protocol unpickles what it receives: whoever reaches the scheduler can run
    code on it and on every worker, so off this machine only certificates let one in.
    """
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        raise ClusterError(f"{address}: not a Dask address (tcp://HOST:PORT or tls://HOST:PORT)")
    if tls and parts.scheme != "tls":
        raise ClusterError(f"{address}: TLS is configured, so the address must be tls://…")
    if parts.scheme == "tls" and not tls:
        raise ClusterError(
            f"{address}: a tls:// scheduler needs --tls-ca-file, --tls-cert and --tls-key"
        )
    if not tls and not is_loopback(parts.hostname or ""):
        raise ClusterError(
            f"{address} is not on this machine: Dask runs whatever it is sent, so off "
            "loopback it needs TLS (--tls-ca-file, --tls-cert, --tls-key; README: More "
            "than one machine)"
        )


def _validated_result(row: Any, student: str, unsafe: bool, minimum: Level) -> SubmissionResult:
    """A SubmissionResult from a worker's JSON, or ValueError: every field of its type."""
    names = {f.name: f for f in fields(SubmissionResult)}
    if not isinstance(row, dict) or set(row) != set(names):
        raise ValueError("not a result")
    strs = ("student", "source", "status", "reason", "note", "isolation")
    if not all(isinstance(row[k], str) for k in strs):
        raise ValueError("a text field is not text")
    if row["student"] != student or row["status"] not in ("graded", "unreadable", "failed"):
        raise ValueError("another student or an unknown status")
    if row["unsafe"] is not unsafe or not at_least(row["isolation"], minimum):
        raise ValueError("graded at another isolation level")
    if not isinstance(row["seconds"], int | float) or isinstance(row["seconds"], bool):
        raise ValueError("seconds is not a number")
    if row["manual"] != {} or row["manual_notes"] != {}:
        raise ValueError("manual grades come from the client")
    errors = row["notebook_errors"]
    if not isinstance(errors, list) or not all(isinstance(e, str) for e in errors):
        raise ValueError("notebook errors are not text")
    kinds = {f.name: f.type for f in fields(TestOutcome)}
    tests = row["tests"]
    if not isinstance(tests, list):
        raise ValueError("tests is not a list")
    for t in tests:
        if not isinstance(t, dict) or set(t) != set(kinds):
            raise ValueError("a test is not a test outcome")
        for k, kind in kinds.items():
            v = t[k]
            ok = {
                "str": isinstance(v, str),
                "bool": isinstance(v, bool),
                "float": isinstance(v, int | float) and not isinstance(v, bool),
            }[kind]
            if not ok:
                raise ValueError(f"a test's {k} is not {kind}")
    return SubmissionResult.from_json(json.loads(json.dumps(row)))


class ClusterGrader:
    """Grades and renders PDFs on a Dask cluster's workers; everything is written here."""

    def __init__(self, client: Any, options: ClusterOptions, address: str) -> None:
        self.client, self.options, self.address = client, options, address
        self.versions = versions()
        self.resource = tasks.resource_name(self.versions, options.min_isolation)
        self.levels: dict[str, str] = {}  # accepted worker address → isolation level
        self._seen: set[str] = set()
        self.live = 0  # workers that can grade, at the last check
        self._started = time.monotonic()

    # -- workers ------------------------------------------------------------------------
    def _workers(self) -> dict[str, dict[str, Any]]:
        try:
            return self.client.scheduler_info(n_workers=-1)["workers"]
        except Exception as exc:
            raise self._gone(exc) from None

    def _gone(self, exc: BaseException | None = None) -> ClusterError:
        why = f" ({type(exc).__name__})" if exc is not None else ""
        return ClusterError(
            f"the Dask scheduler at {self.address} is gone{why}; every result "
            "graded so far is kept (rerun to resume)"
        )

    def refusal(self, ident: dict[str, Any]) -> str:
        """Why a worker with ``ident`` may not grade for this client ('' if it may)."""
        if not ident.get("preload"):
            if ident.get("failure"):
                return f"it could not set up grading: {ident['failure']}"
            return "it was not started with the hw2 preload (`hw2 worker ADDRESS`)"
        if why := difference(self.versions, ident.get("versions", {})):
            return why
        level = ident.get("isolation", "")
        if not at_least(level, self.options.min_isolation):
            return (
                f"its isolation level is {level}, below --min-isolation "
                f"{self.options.min_isolation.value}"
            )
        return ""

    def check_workers(self) -> int:
        """Check workers not seen before (one line each for those refused); the number
        of workers that can grade now."""
        info = self._workers()
        new = [a for a in info if a not in self._seen]
        if new:
            try:
                idents = self.client.run(tasks.identity, workers=new, on_error="return")
            except Exception as exc:
                raise self._gone(exc) from None
            for addr, ident in idents.items():
                self._seen.add(addr)
                if isinstance(ident, BaseException) or not isinstance(ident, dict):
                    why = "it did not answer the version check"
                else:
                    why = self.refusal(ident)
                name = info.get(addr, {}).get("name", addr)
                if why:
                    print(
                        visible(f"cluster: refused worker {name} ({addr}): {why}"), file=sys.stderr
                    )
                else:
                    self.levels[addr] = ident["isolation"]
        self.live = sum(1 for w in info.values() if self.resource in w.get("resources", {}))
        return self.live

    def wait_for_workers(self) -> None:
        deadline = time.monotonic() + self.options.wait
        while self.check_workers() == 0:
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"no worker of {self.address} can grade after {self.options.wait:g} s "
                    "(see the lines above; start one with `hw2 worker ADDRESS`)"
                )
            time.sleep(0.5)

    @property
    def level(self) -> Level:
        """The lowest isolation level among the accepted workers (each row has its own)."""
        return lowest(list(self.levels.values())) if self.levels else self.options.min_isolation

    # -- running tasks ------------------------------------------------------------------
    def _submit(self, fn: Callable[..., Any], label: str, *args: Any) -> Any:
        # A student id (letters, digits, _.@+-) in the key shows on the dashboard.
        key = f"hw2-{fn.__name__}-{label}-{uuid.uuid4().hex[:12]}"
        target = f"{fn.__module__}:{fn.__name__}"
        return self.client.submit(
            _CALL, target, *args, key=key, pure=False, resources={self.resource: 1}
        )

    def _drain(self, queue: list[tuple[Any, Any]], done_one: Callable[[Any, Any], None]) -> None:
        """Run ``queue``'s (submit thunk, item) pairs, as many at a time as workers can
        grade; ``done_one(future, item)`` as each finishes (it may append to ``queue``).

        One task per live worker: a worker's queue holds nothing that a SIGKILL of it
        would count against (Dask counts every task queued on a dead worker), and the
        scheduler never holds more than that many notebooks. Raises ClusterError when
        the scheduler goes, or when no worker can grade for ``options.wait`` seconds."""
        from distributed import wait

        futures: dict[Any, Any] = {}
        idle_since: float | None = None
        last_check = time.monotonic()
        while futures or queue:
            while queue and len(futures) < max(1, self.live):
                submit, item = queue.pop(0)
                futures[submit()] = item
            try:
                done, _ = wait(list(futures), timeout=2.0, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            except Exception as exc:
                raise self._gone(exc) from None
            if self.client.status not in ("running", "connecting"):
                raise self._gone()
            for fut in done:
                if fut in futures:
                    done_one(fut, futures.pop(fut))
            if time.monotonic() - last_check > 2.0 or not done:
                last_check = time.monotonic()
                if self.check_workers():
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > self.options.wait:
                    raise ClusterError(
                        f"no worker of {self.address} could grade for "
                        f"{self.options.wait:g} s; the results so far are kept"
                    )

    def grade_all(
        self,
        subs: list[Submission],
        *,
        limits: Limits,
        unsafe: bool,
        on_result: Callable[[SubmissionResult], None] = lambda r: None,
    ) -> list[SubmissionResult]:
        """Grade ``subs`` on the workers; ``on_result`` here, once per submission."""
        results: dict[str, SubmissionResult] = {}
        limits_data = asdict(limits)

        def row(s: Submission, status: str, reason: str) -> None:
            if s.student not in results:
                r = SubmissionResult(
                    s.student,
                    str(s.path),
                    status,
                    reason=reason,  # type: ignore[arg-type]
                    unsafe=unsafe,
                )
                results[s.student] = r
                on_result(r)

        readable: list[tuple[Submission, bytes]] = []
        for s in subs:
            try:
                readable.append((s, read_submission(s)))
            except UnreadableNotebook as exc:  # as grade_chunk would say it
                row(s, "unreadable", str(exc))
        workers = max(1, self.live)
        size = max(1, min(CHUNK_MAX, math.ceil(len(readable) / (workers * 8)))) if readable else 1
        killed: dict[str, int] = {}
        queue: list[tuple[Any, Any]] = []

        def send(chunk: list[tuple[Submission, bytes]]) -> None:
            items = [(s.student, data) for s, data in chunk]
            label = chunk[0][0].student

            def submit() -> Any:
                return self._submit(tasks.grade_bytes, label, items, limits_data, unsafe)

            queue.append((submit, chunk))

        def done_one(fut: Any, chunk: list[tuple[Submission, bytes]]) -> None:
            from distributed import KilledWorker

            if fut.status == "finished":
                try:
                    data = json.loads(fut.result())
                    rows = data["results"]
                    if not isinstance(rows, list) or len(rows) != len(chunk):
                        raise ValueError("one result per submission")
                    got = [
                        _validated_result(r, s.student, unsafe, self.options.min_isolation)
                        for r, (s, _) in zip(rows, chunk, strict=True)
                    ]
                except (ValueError, KeyError, TypeError) as exc:
                    for s, _ in chunk:
                        row(
                            s,
                            "failed",
                            f"internal grader error: a worker's result was malformed ({exc})",
                        )
                    return
                for (s, _), r in zip(chunk, got, strict=True):
                    if s.student not in results:
                        r.source = str(s.path)  # the worker saw a copy under its own temp
                        results[s.student] = r
                        on_result(r)
                return
            exc = fut.exception() if fut.status == "error" else None
            if fut.status == "cancelled" or exc is None:
                raise self._gone()
            if isinstance(exc, KilledWorker):
                for s, data in chunk:
                    killed[s.student] = killed.get(s.student, 0) + 1
                    if len(chunk) == 1 and killed[s.student] >= MAX_KILLED:
                        deaths = killed[s.student] * (self._allowed_failures() + 1)
                        row(s, "failed", CRASHED.format(n=deaths))
                    else:
                        send([(s, data)])  # alone: only the submission at fault fails
                return
            for s, _ in chunk:
                row(s, "failed", f"internal grader error: {type(exc).__name__}")

        for k in range(0, len(readable), size):
            send(readable[k : k + size])
        self._drain(queue, done_one)
        return [results[s.student] for s in subs]

    def _allowed_failures(self) -> int:
        with contextlib.suppress(Exception):
            key = "distributed.scheduler.allowed-failures"
            return int(self.client.run_on_scheduler(_CONFIG, key))
        return 3

    def render_pdfs(
        self,
        results: list[SubmissionResult],
        rubric: Rubric,
        out: Path,
        jobs: int,
        lanes: Any = None,
    ) -> list[PdfOutcome]:
        """``report.pdf.render_graded_pdfs`` on the workers: the PDFs come back as bytes."""
        outcomes: dict[str, PdfOutcome] = {}
        queue: list[tuple[Any, Any]] = []
        for r in results:
            try:
                data: bytes | None = read_notebook_bytes(Path(r.source))
            except UnreadableNotebook:
                data = None  # the score page alone, as locally
            queue.append((partial(self._submit, tasks.render_pdf, r.student, r.to_json(), data), r))

        def done_one(fut: Any, r: SubmissionResult) -> None:
            dest = out / "pdf" / f"{r.student}.pdf"
            if fut.status != "finished":
                if fut.status == "cancelled":
                    raise self._gone()
                why = f"the PDF task failed on its workers ({type(fut.exception()).__name__})"
                outcomes[r.student] = PdfOutcome(r.student, None, False, "", why, 0.0)
                return
            try:
                meta_text, pdf = fut.result()
                meta = json.loads(meta_text)
                produced, degraded, reason, seconds = (
                    meta["produced"],
                    meta["degraded"],
                    meta["reason"],
                    meta["seconds"],
                )
                if not (
                    isinstance(produced, bool)
                    and isinstance(degraded, str)
                    and isinstance(reason, str)
                    and isinstance(seconds, int | float)
                    and isinstance(pdf, bytes)
                    and len(pdf) <= MAX_PDF_BYTES
                ):
                    raise ValueError("malformed")
                if produced and not pdf.startswith(b"%PDF-"):
                    raise ValueError("not a PDF")
            except (ValueError, KeyError, TypeError):
                why = "a worker's PDF result was malformed"
                outcomes[r.student] = PdfOutcome(r.student, None, False, "", why, 0.0)
                return
            if produced:
                write_atomic(dest, pdf)
            outcomes[r.student] = PdfOutcome(
                r.student, dest if produced else None, produced, degraded, reason, float(seconds)
            )

        self._drain(queue, done_one)
        return [outcomes[r.student] for r in results]


@contextlib.contextmanager
def connect(options: ClusterOptions) -> Iterator[ClusterGrader]:
    """A checked cluster for one grading run; closes what it started."""
    from distributed import Client

    sec = security(options)
    with contextlib.ExitStack() as stack:
        if options.address == "slurm":
            from autograder.cluster.slurm import start_slurm

            cluster = stack.enter_context(start_slurm(options, sec))
            address = cluster.scheduler_address
        else:
            address = scheduler_address(options.address)
            check_address(address, options.tls)
        try:
            client = Client(
                address, security=sec, timeout=min(30, options.wait), set_as_default=True
            )
        except (OSError, TimeoutError) as exc:
            first = (str(exc).splitlines() or [""])[0]
            raise ClusterError(
                f"cannot connect to the Dask scheduler at {address}: {type(exc).__name__}: {first}"
            ) from None
        stack.callback(_close_quietly, client)
        grader = ClusterGrader(client, options, address)
        grader.wait_for_workers()
        yield grader


def _close_quietly(client: Any) -> None:
    with contextlib.suppress(Exception):
        client.close(timeout=5)
