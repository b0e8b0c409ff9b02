"""The floor: run one notebook's code cells once, top to bottom, and nothing else.

    <sandbox runtime>/bin/python floor_exec.py NOTEBOOK

No kernel, no sandbox, no grading: the least any grader must spend on a
submission. Like our sandboxed worker (and a kernel), a failing cell is skipped
and the next one still runs. Uses only the standard library, so it runs on the
sandbox runtime's python, which has numpy and matplotlib only.
"""

from __future__ import annotations

import json
import sys


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    ns: dict = {"__name__": "__main__"}
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        try:
            exec(compile(source, f"<cell {i}>", "exec"), ns)
        except BaseException:  # as a kernel does: record nothing, run the next cell
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
