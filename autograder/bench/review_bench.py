"""Benchmark `review` on a made-up class: N students × 8 written items (default N = 500).

Measures, on this machine:
- the first start (reading every notebook into OUT/review.sqlite) and a restart;
- the server's time to answer an item page and the overview (HTTP, median and p95);
- an item page opened in headless Chromium until its math is typeset (if /usr/bin/chromium
  exists), the number the issue's "under 300 ms" is about.

Usage: hw2 bench review [--n 500] [--pages 60] [--out FILE.json]
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import REPO_DIR as REPO
from autograder.bench.review_class import MANUAL, class_answers, make_out

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip


def _stats(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {
        "n": len(xs),
        "median_ms": round(1000 * statistics.median(xs), 1),
        "p95_ms": round(1000 * xs[min(len(xs) - 1, int(0.95 * len(xs)))], 1),
        "max_ms": round(1000 * xs[-1], 1),
    }


def start(out: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "review", str(out), "--port", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    line = proc.stdout.readline() if proc.stdout else ""
    m = re.search(r"(http://\S+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"review did not start: {line!r}")
    return proc, m.group(1)


def main(*, n: int, page_count: int, out: Path) -> int:
    """Time `review` on ``n`` students and ``page_count`` item pages; write ``out`` (JSON)."""
    import httpx

    work = Path(tempfile.mkdtemp(prefix="hw2-review-bench-"))
    t = time.perf_counter()
    make_out(work, class_answers(n, seed=1))
    made = time.perf_counter() - t
    results: dict[str, object] = {
        "machine": f"{platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "students": n,
        "items": len(MANUAL),
        "make_class_s": round(made, 2),
    }
    rng = random.Random(0)
    pages = [(rng.choice(MANUAL), f"s{rng.randrange(n):04d}") for _ in range(page_count)]
    for label in ("first_start_s", "restart_s"):
        t = time.perf_counter()
        proc, url = start(work)
        results[label] = round(time.perf_counter() - t, 2)
        if label == "first_start_s":
            proc.terminate()
            proc.wait()
    base = url.split("/?")[0]
    try:
        with httpx.Client(follow_redirects=True) as client:
            client.get(url)  # token → cookie
            for path in ("/", f"/item/{pages[0][0]}/{pages[0][1]}"):
                client.get(base + path)  # warm up
            times = []
            for item, student in pages:
                t = time.perf_counter()
                r = client.get(f"{base}/item/{item}/{student}")
                times.append(time.perf_counter() - t)
                assert r.status_code == 200, (r.status_code, r.text[:200])
            results["item_page_http"] = _stats(times)
            times = []
            for _ in range(10):
                t = time.perf_counter()
                client.get(base + "/")
                times.append(time.perf_counter() - t)
            results["overview_http"] = _stats(times)
        if Path(CHROMIUM).exists():
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page()
                page.goto(url)
                page.goto(f"{base}/item/{pages[0][0]}/{pages[0][1]}")  # warm the cache
                page.wait_for_selector("body[data-ready='1']")
                times, ready, server = [], [], []
                for item, student in pages[:30]:
                    t = time.perf_counter()
                    page.goto(f"{base}/item/{item}/{student}")
                    page.wait_for_selector("body[data-ready='1']")  # math typeset, handlers on
                    times.append(time.perf_counter() - t)
                    # The page's own clock: navigation start → math typeset and keys bound.
                    ready.append(page.evaluate("window.reviewReadyAt") / 1000)
                    server.append(page.evaluate(
                        "(() => { const n = performance.getEntriesByType('navigation')[0];"
                        " return n.responseEnd - n.requestStart; })()") / 1000)  # fmt: skip
                results["item_page_browser_ready"] = _stats(ready)
                results["item_page_browser_response"] = _stats(server)
                results["item_page_browser_wall"] = _stats(times)
                browser.close()
    finally:
        proc.terminate()
        proc.wait()
    db = [work / f"review.sqlite{suffix}" for suffix in ("", "-wal")]  # WAL: both hold data
    results["db_mb"] = round(sum(p.stat().st_size for p in db if p.exists()) / 2**20, 1)
    Path(out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0
