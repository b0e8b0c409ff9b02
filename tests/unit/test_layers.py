"""The package's layers: no import cycle between autograder's subpackages.

Every module under autograder/ is parsed with ``ast`` (nothing is imported), and each
``import`` — at module level or inside a function — becomes an edge between nodes:
a subpackage (release, run, grade, report, review, integrations, graders, …) is one
node, a top-level module (cli, pipeline, rubric, submissions, …) is its own node, and
``autograder/__init__.py`` is the node ``autograder``. The data flows
release; run → grade → report → review, with integrations, cli and pipeline on top;
an edge against that flow closes a cycle, and the test prints it with the lines that
make it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

PACKAGE = "autograder"
PACKAGE_DIR = Path(__file__).resolve().parents[2] / PACKAGE

# Edges allowed to close a cycle for now, as (file, enclosing function, target node).
KNOWN: set[tuple[str, str, str]] = set()

# The layers, bottom first: a node imports only from layers below its own. A new
# subpackage or top-level module goes into the layer of its place in the data flow.
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(layer.split())
    for layer in (
        "autograder",  # __init__: the package's paths
        "files cells inert reference rubric answers",  # facts every step shares
        "release run",  # source → student notebook; a submission → its outputs (sandbox)
        "submissions",  # finding and reading submissions (sizes from run.wire)
        "grade",  # outputs → scores and feedback
        "graders",  # the hidden graders, over grade's student proxy
        "report",  # scores → grades.csv, results/, PDFs
        "review",  # manual grading over the reports
        "cluster",  # grading and PDFs on Dask workers (over grade, report)
        "pipeline integrations",  # orchestration; nbgrader, otter, Gradescope
        "bench",  # timing the steps against nbgrader and otter
        "cli",
        "__main__",
    )
)

Edge = tuple[str, str]
Where = list[tuple[str, int, str]]  # (file, line, enclosing function or "")


def node_of(module: str) -> str | None:
    """The node a dotted module name belongs to; None outside the package."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    if len(parts) == 1:
        return PACKAGE
    return parts[1].removesuffix(".py")


def _module_name(path: Path, package_dir: Path) -> str:
    rel = path.relative_to(package_dir.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The absolute modules one import statement names (a name imported from a package
    may itself be a module: ``from autograder import cli``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: resolved against this module's package
        base = module.split(".")
        if not is_package:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    return [source] + [f"{source}.{alias.name}" for alias in node.names]


def _submodule_node(name: str, package_dir: Path) -> str | None:
    """``autograder.X`` names the node X only if X is a subpackage or a module."""
    parts = name.split(".")
    if len(parts) == 2 and parts[0] == PACKAGE:
        x = parts[1]
        if (package_dir / x).is_dir() or (package_dir / f"{x}.py").is_file():
            return x
        return None
    return node_of(name)


def import_graph(package_dir: Path = PACKAGE_DIR) -> dict[Edge, Where]:
    """(from node, to node) → where in the source each such import stands."""
    edges: dict[Edge, Where] = defaultdict(list)
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        module = _module_name(path, package_dir)
        src = node_of(module)
        assert src is not None
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(package_dir.parent).as_posix()
        for func, stmt in _imports(tree):
            names = _targets(stmt, module, path.name == "__init__.py")
            if isinstance(stmt, ast.ImportFrom):
                # `from autograder import REPO_DIR` is the root node; `… import cli` is cli.
                base, *members = names
                found = {_submodule_node(m, package_dir) for m in members} - {None, PACKAGE}
                dst = found or ({node_of(base)} - {None})
            else:
                dst = {node_of(n) for n in names} - {None}
            for d in dst:
                if d != src:
                    edges[(src, d)].append((rel, stmt.lineno, func))
    return dict(edges)


def _imports(tree: ast.AST) -> list[tuple[str, ast.Import | ast.ImportFrom]]:
    """Every import statement with the name of the function it stands in ("" at module
    level; the outermost function when nested)."""
    found: list[tuple[str, ast.Import | ast.ImportFrom]] = []

    def visit(node: ast.AST, func: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((func, child))
            inner = func
            if not func and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            visit(child, inner)

    visit(tree, "")
    return found


def cycles(edges: dict[Edge, Where]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each as a
    closed path through its nodes."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(set(graph) | {b for _, b in edges}):
        if v not in index:
            strongconnect(v)
    return [_closed_path(comp, graph) for comp in components]


def _closed_path(comp: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the component's first node (breadth-first)."""
    start = min(comp)
    parent: dict[str, str] = {}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & comp):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if w not in parent:
                parent[w] = v
                queue.append(w)
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def _without_known(edges: dict[Edge, Where]) -> dict[Edge, Where]:
    kept: dict[Edge, Where] = {}
    for (a, b), where in edges.items():
        rest = [w for w in where if (w[0], w[2], b) not in KNOWN]
        if rest:
            kept[(a, b)] = rest
    return kept


def describe(cycle: list[str], edges: dict[Edge, Where]) -> str:
    lines = [" → ".join(cycle)]
    for a, b in pairwise(cycle):
        for file, line, func in edges[(a, b)]:
            lines.append(f"  {a} → {b}: {file}:{line}" + (f" (in {func})" if func else ""))
    return "\n".join(lines)


def test_no_cycle_between_subpackages():
    edges = _without_known(import_graph())
    found = cycles(edges)
    assert not found, "import cycles between autograder's subpackages:\n" + "\n".join(
        describe(c, edges) for c in found
    )


def test_imports_go_down_the_layers():
    """Stricter than no cycle: an edge against the data flow fails before its reverse
    exists. A node missing from LAYERS fails too, so its place is decided, not implied."""
    rank = {node: k for k, layer in enumerate(LAYERS) for node in layer}
    edges = _without_known(import_graph())
    nodes = {n for edge in edges for n in edge}
    assert nodes <= set(rank), f"place these in LAYERS: {sorted(nodes - set(rank))}"
    upward = [
        f"  {a} → {b}: {file}:{line}" + (f" (in {func})" if func else "")
        for (a, b), where in sorted(edges.items())
        if rank[a] <= rank[b]
        for file, line, func in where
    ]
    assert not upward, "imports against the layers (or within one layer):\n" + "\n".join(upward)


def test_the_known_exceptions_are_still_there():
    """An entry of KNOWN that no longer matches an import is stale: remove it."""
    seen = {(w[0], w[2], b) for (_, b), where in import_graph().items() for w in where}
    assert KNOWN <= seen, f"stale entries in KNOWN: {sorted(KNOWN - seen)}"


def test_the_checker_finds_a_cycle(tmp_path: Path):
    """The graph sees function-level and relative imports, and a cycle fails."""
    pkg = tmp_path / PACKAGE
    for sub in ("grade", "report"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("REPO_DIR = None\n")
    (pkg / "grade" / "cache.py").write_text("from ..report.files import write_atomic\n")
    (pkg / "report" / "files.py").write_text("from autograder import REPO_DIR\n")
    (pkg / "report" / "pdf.py").write_text("def main():\n    from autograder.grade import cache\n")
    edges = import_graph(pkg)
    assert edges[("grade", "report")] == [("autograder/grade/cache.py", 1, "")]
    assert edges[("report", "grade")] == [("autograder/report/pdf.py", 2, "main")]
    assert ("report", PACKAGE) in edges
    assert cycles(edges) == [["grade", "report", "grade"]]
