"""`review OUT`: a local web app to grade the written answers, one question at a time.

Starlette (a small ASGI framework) served by uvicorn, Jinja2 templates with
autoescaping, a little JavaScript and no build step. Everything it serves comes
from this package, OUT and the KaTeX set-up installed (scripts/install_katex.sh, the
version in katex.env): it never touches the network.

Access: the printed URL carries a random token, as Jupyter's does. The first
request trades it for an HttpOnly, SameSite=Strict cookie and is redirected to a
URL without it, so the page's scripts can never read it. Every other request
without the cookie is refused (403), as is any request whose Host is not this
server (DNS rebinding) and any change whose Origin is not this server. Every
response carries a strict Content-Security-Policy: scripts only from this
server, no inline script, no remote anything.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import secrets
import socket
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from autograder.review.db import NO_ANSWER, Refused, Stale, Store
from autograder.review.render import model_answers, render_markdown

HERE = Path(__file__).resolve().parent
KATEX_PIN = HERE / "katex.env"  # the KaTeX version scripts/install_katex.sh installs
COOKIE = "hw2_review"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# Attachments are student bytes: never a document that can run anything.
CSP_FILE = "default-src 'none'; sandbox"
MAX_BODY = 256 << 10


@cache
def katex_dirs() -> tuple[Path, ...]:
    """Where set-up puts KaTeX (scripts/install_katex.sh): as root /opt/hw2-autograder,
    else the user's data folder. HW2_KATEX_DIR names another, to try one by hand (with
    Debian's 0.16.4 test_nested_edef_chains_cannot_stall_the_page fails, as it should)."""
    if env := os.environ.get("HW2_KATEX_DIR"):
        return (Path(env),)
    m = re.search(r"^KATEX_VERSION=(\S+)$", KATEX_PIN.read_text(encoding="utf-8"), re.M)
    name = f"katex-{m.group(1) if m else 'unknown'}"
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return (Path("/opt/hw2-autograder") / name, Path(data) / "hw2-autograder" / name)


def katex_dir() -> Path | None:
    return next((d for d in katex_dirs() if (d / "katex.min.js").exists()), None)


class Guard:
    """ASGI middleware: token → cookie, Host and Origin checks, security headers.

    ``cookie`` names the cookie: one per server (its port), since a browser sends a
    host's cookies to every port of it, and two servers sharing a name log each other out.
    """

    def __init__(self, app: Any, token: str, hosts: set[str] | None, cookie: str = COOKIE) -> None:
        self.app, self.token, self.hosts, self.cookie = app, token, hosts, cookie

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        cookie = _cookie(headers.get("cookie", ""), self.cookie)
        given = (query.get("token") or [""])[0]
        host = headers.get("host", "")
        if self.hosts is not None and host not in self.hosts:
            return await _deny(scope, receive, send, "unknown Host")
        if given and _same(given, self.token):
            rest = {k: v for k, v in query.items() if k != "token"}
            url = scope["path"] + ("?" + urlencode(rest, doseq=True) if rest else "")
            resp = RedirectResponse(url, status_code=303)
            resp.set_cookie(self.cookie, self.token, httponly=True, samesite="strict", path="/")
            _secure(resp)
            return await resp(scope, receive, send)
        if not (cookie and _same(cookie, self.token)):
            return await _deny(
                scope, receive, send, "open the URL with the token that `review` printed"
            )
        if scope["method"] not in ("GET", "HEAD"):
            origin = headers.get("origin", "")
            if origin.split("://", 1)[-1] != host:
                return await _deny(scope, receive, send, "cross-origin change refused")
            if not headers.get("content-type", "").startswith("application/json"):
                return await _deny(scope, receive, send, "JSON only")

        async def send_secured(message: dict) -> None:
            if message["type"] == "http.response.start":
                hs = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-csp-file"]
                # Installed assets may be cached; pages and student files never.
                static = scope["path"].startswith(("/katex/", "/static/"))
                hs = [(k, v) for k, v in hs if not (static and k.lower() == b"cache-control")]
                file_csp = any(k.lower() == b"x-csp-file" for k, _ in message.get("headers", []))
                hs += [
                    (b"content-security-policy", (CSP_FILE if file_csp else CSP).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cache-control", b"private, max-age=3600" if static else b"no-store"),
                    (b"cross-origin-resource-policy", b"same-origin"),
                ]
                message = {**message, "headers": hs}
            await send(message)

        return await self.app(scope, receive, send_secured)


def _same(given: str, token: str) -> bool:
    """Constant-time comparison that also takes non-ASCII input (compare_digest on str won't)."""
    return secrets.compare_digest(given.encode("utf-8", "replace"), token.encode())


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return ""


def _secure(resp: Response) -> None:
    resp.headers["content-security-policy"] = CSP
    resp.headers["x-content-type-options"] = "nosniff"
    resp.headers["referrer-policy"] = "no-referrer"


async def _deny(scope: dict, receive: Any, send: Any, why: str) -> None:
    resp = PlainTextResponse(f"403 forbidden: {why}\n", status_code=403)
    _secure(resp)
    await resp(scope, receive, send)


# -- pages -----------------------------------------------------------------------------------
@cache
def _model_html(item: str) -> tuple[str, str]:
    m = model_answers().get(item)
    if m is None:
        return "", ""
    return render_markdown(m.answer_md), render_markdown(m.rubric_md)


@cache
def _rubric_text_html(text: str) -> str:
    return render_markdown(text)


def create_app(store: Store, token: str, hosts: set[str] | None, cookie: str = COOKIE) -> Any:
    """The app behind its Guard. ``hosts``: the Host headers to accept (None: any, when the
    server listens beyond loopback, where DNS rebinding is not the threat); ``cookie``: the
    name of this server's cookie (see Guard)."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    items = store.items
    has_pdf = (store.out / "pdf").is_dir()

    def item_or_404(item: str) -> Any:
        if item not in items:
            raise Refused(f"unknown written item {item!r}")
        return items[item]

    def overview(request: Request) -> Response:
        progress = store.progress()
        rows = store.overview()
        pdfs = {r["student"] for r in rows if (store.out / "pdf" / f"{r['student']}.pdf").exists()}
        unanswered = {i: store.group_members(i, "unanswered") for i in items}
        return templates.TemplateResponse(
            request,
            "overview.html",
            {
                "items": list(items.values()),
                "progress": progress,
                "rows": rows,
                "pdfs": pdfs,
                "unanswered": unanswered,
                "out": str(store.out),
                "katex": katex_dir() is not None,
                "auto_max": sum(i.points for i in store.rubric.auto),
                "manual_max": sum(i.points for i in items.values()),
            },
        )

    def first(request: Request) -> Response:
        item = request.path_params["item"]
        item_or_404(item)
        nav = _order(item)
        todo = [s for s, graded in nav if not graded]
        target = (todo or [s for s, _ in nav] or [""])[0]
        return RedirectResponse(f"/item/{item}/{target}", status_code=303)

    def _order(item: str) -> list[tuple[str, bool]]:
        rows = store.q("SELECT student, graded FROM grades WHERE item=? ORDER BY student", (item,))
        return [(r[0], bool(r[1])) for r in rows]

    def state(item: str, student: str) -> dict[str, Any]:
        it = item_or_404(item)
        ans = store.answer(student, item)
        grade = store.grade(student, item)
        versions = store.group_versions(item, ans["grp"])
        return {
            "item": item,
            "student": student,
            "points": it.points,
            "answer_id": ans["id"],
            "group": ans["grp"],
            "group_size": len(versions),
            "unanswered": ans["natural_group"] == "unanswered",
            "versions": versions,
            "graded": grade.graded,
            "score": grade.score,
            "override": grade.override,
            "comment": grade.comment,
            "applied": grade.applied,
            "rubric": store.rubric_items(item),
        }

    def page(request: Request) -> Response:
        item, student = request.path_params["item"], request.path_params["student"]
        it = item_or_404(item)
        st = state(item, student)
        ans = store.answer(student, item)
        atts = store.attachments(ans["id"])
        urls = {a["name"]: f"/att/{ans['id']}/{a['position']}" for a in atts if a["shown"]}
        nav = _order(item)
        names = [s for s, _ in nav]
        k = names.index(student)
        later = [s for s, g in nav[k + 1 :] + nav[:k] if not g]
        answer_html = render_markdown(ans["source"], urls)
        # Attached but not referenced by the markdown: shown too, nothing is hidden.
        unreferenced = [(n, u) for n, u in urls.items() if f'src="{u}"' not in answer_html]
        model_html, rubric_html = _model_html(item)
        graded_n = sum(g for _, g in nav)
        return templates.TemplateResponse(
            request,
            "item.html",
            {
                "it": it,
                "items": list(items.values()),
                "progress": store.progress(),
                "student": student,
                "answer_html": answer_html,
                "unreferenced": unreferenced,
                "problem": ans["problem"],
                "attachments": atts,
                "figure": ans["figure"] is not None,
                "model_html": model_html,
                "rubric_html": rubric_html,
                "rubric": [{**r, "html": _rubric_text_html(r["text"])} for r in st["rubric"]],
                "st": st,
                "members": sorted(st["versions"]),
                "prev": names[k - 1] if k > 0 else None,
                "next": names[k + 1] if k + 1 < len(names) else None,
                "next_ungraded": later[0] if later else None,
                "position": k + 1,
                "count": len(names),
                "graded_n": graded_n,
                "katex": katex_dir() is not None,
                "has_pdf": has_pdf and (store.out / "pdf" / f"{student}.pdf").exists(),
                "no_answer": NO_ANSWER,
            },
        )

    def api_state(request: Request) -> Response:
        return JSONResponse(state(request.path_params["item"], request.path_params["student"]))

    def attachment(request: Request) -> Response:
        row = store.attachment(int(request.path_params["aid"]), int(request.path_params["pos"]))
        if row is None or row["data"] is None or not row["mime"].startswith("image/"):
            return PlainTextResponse("not found", status_code=404)
        return Response(row["data"], media_type=row["mime"], headers={"x-csp-file": "1"})

    def figure(request: Request) -> Response:
        rows = store.q("SELECT figure FROM answers WHERE id=?", (int(request.path_params["aid"]),))
        if not rows or rows[0][0] is None:
            return PlainTextResponse("not found", status_code=404)
        return Response(rows[0][0], media_type="image/png", headers={"x-csp-file": "1"})

    def pdf(request: Request) -> Response:
        student = request.path_params["student"]
        if student not in set(store.students()):
            return PlainTextResponse("not found", status_code=404)
        path = store.out / "pdf" / f"{student}.pdf"
        if not path.is_file():
            return PlainTextResponse("no graded PDF for this student", status_code=404)
        return FileResponse(path, media_type="application/pdf")

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise Refused("request too large")
        try:
            data = json.loads(raw)
        except ValueError:
            raise Refused("not JSON") from None
        if not isinstance(data, dict):
            raise Refused("not a JSON object")
        return data

    def versions_of(data: dict[str, Any]) -> dict[str, int]:
        v = data.get("versions")
        if not isinstance(v, dict) or not all(isinstance(x, int) for x in v.values()):
            raise Refused("versions: expected {student: version}")
        return {str(k): int(x) for k, x in v.items()}

    who = "page"

    async def api_grade(request: Request) -> Response:
        data = await body(request)
        applied = data.get("applied", [])
        if not isinstance(applied, list) or not all(isinstance(i, int) for i in applied):
            raise Refused("applied: expected a list of rubric item ids")
        store.set_grade(
            str(data.get("item")),
            versions_of(data),
            sorted(set(applied)),
            str(data.get("comment", "")),
            who,
        )
        return JSONResponse({"ok": True})

    async def api_no_answer(request: Request) -> Response:
        data = await body(request)
        item = str(data.get("item"))
        given, skipped = store.give_unanswered_zero(item, versions_of(data), who)
        not_found = len(store.group_members(item, "not found"))
        message = (
            f"Gave 0 to {len(given)} unanswered; skipped {len(skipped)} with content in "
            "their answer's cells"
        )
        if not_found:
            message += f"; {not_found} answers could not be found in their notebooks: grade them"
        return JSONResponse(
            {
                "ok": True,
                "given": len(given),
                "skipped": len(skipped),
                "not_found": not_found,
                "message": message + ".",
            }
        )

    async def api_ungrade(request: Request) -> Response:
        data = await body(request)
        store.ungrade(str(data.get("item")), versions_of(data), who)
        return JSONResponse({"ok": True})

    async def api_split(request: Request) -> Response:
        data = await body(request)
        store.split(str(data.get("item")), str(data.get("student")))
        return JSONResponse({"ok": True})

    async def api_rubric(request: Request) -> Response:
        data = await body(request)
        rid, version = data.get("id"), data.get("version")
        try:
            points = float(data.get("points"))
        except (TypeError, ValueError):
            raise Refused("points: expected a number") from None
        if points != points:  # NaN
            raise Refused("points: expected a number")
        if data.get("delete"):
            store.delete_rubric_item(str(data.get("item")), int(rid), int(version))
            return JSONResponse({"ok": True})
        new_id = store.save_rubric_item(
            str(data.get("item")),
            None if rid is None else int(rid),
            points,
            str(data.get("text", "")),
            None if version is None else int(version),
        )
        return JSONResponse({"ok": True, "id": new_id})

    async def on_stale(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc), "stale": True}, status_code=409)

    async def on_refused(request: Request, exc: Exception) -> Response:
        if request.method == "GET":
            return PlainTextResponse(f"{exc}\n", status_code=404)
        return JSONResponse({"error": str(exc)}, status_code=422)

    def log(message: str) -> None:
        print(f"review: {message}", file=sys.stderr, flush=True)

    def fresh(handler: Any) -> Any:
        """``handler`` after a reload if `grade` ran since (a late regrade): no page shows,
        and no save applies to, an answer the store has not read."""

        async def endpoint(request: Request) -> Response:
            await run_in_threadpool(store.refresh, log)
            if inspect.iscoroutinefunction(handler):
                return await handler(request)
            return await run_in_threadpool(handler, request)

        return endpoint

    routes = [
        Route("/", fresh(overview)),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/item/{item}", fresh(first)),
        Route("/item/{item}/{student}", fresh(page)),
        Route("/api/state/{item}/{student}", fresh(api_state)),
        Route("/att/{aid:int}/{pos:int}", fresh(attachment)),
        Route("/fig/{aid:int}", fresh(figure)),
        Route("/pdf/{student}.pdf", fresh(pdf)),
        Route("/api/grade", fresh(api_grade), methods=["POST"]),
        Route("/api/ungrade", fresh(api_ungrade), methods=["POST"]),
        Route("/api/no-answer", fresh(api_no_answer), methods=["POST"]),
        Route("/api/split", fresh(api_split), methods=["POST"]),
        Route("/api/rubric", fresh(api_rubric), methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    kd = katex_dir()
    if kd is not None:
        routes.append(
            Mount("/katex", StaticFiles(directory=str(kd), follow_symlink=True), name="katex")
        )
    app = Starlette(
        routes=routes,
        exception_handlers={Stale: on_stale, Refused: on_refused},
    )
    return Guard(app, token, hosts, cookie)


def serve(out: Path, host: str = "127.0.0.1", port: int = 0) -> int:
    """Load OUT into the store, print the URL with its token, serve until interrupted."""
    import uvicorn

    from autograder.rubric import load_rubric

    store = Store(out, load_rubric())
    try:
        store.load(log=lambda m: print(f"review: {m}", file=sys.stderr, flush=True))
    except Refused:
        store.close()
        raise
    token = secrets.token_urlsafe(32)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        store.close()
        raise Refused(f"cannot listen on {host}:{port} ({exc.strerror}); try --port 0") from None
    # Listen before the URL is printed: a browser opened on it at once (a test, a script)
    # waits in the backlog while uvicorn starts, instead of being refused.
    sock.listen(128)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    loopback = host in ("127.0.0.1", "localhost", "::1")
    hosts = {f"{shown}:{port}", f"127.0.0.1:{port}", f"localhost:{port}"} if loopback else None
    app = create_app(store, token, hosts, cookie=f"{COOKIE}_{port}")
    if katex_dir() is None:
        print("review: KaTeX not found (run `make setup`: scripts/install_katex.sh): "
              "math shows as TeX", file=sys.stderr)  # fmt: skip
    print(f"review: grading {out} at http://{shown}:{port}/?token={token}", flush=True)
    if not loopback:
        print(f"review: WARNING: listening on {host}, reachable from other machines",
              file=sys.stderr)  # fmt: skip
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        store.close()
    return 0
