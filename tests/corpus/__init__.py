"""A corpus of differently written correct submissions: each must earn full marks.

Each module defines ``CELLS``: answer cells (by grade_id) that replace the instructor's
solution in an otherwise correct submission, written the way a student plausibly would
(plain containers, numpy scalars, float32, einsum, loops, np.vectorize, the math
module, closed forms, recursion …). ``SUBMISSIONS`` maps each module's name to them.
"""

from __future__ import annotations

import importlib
import pkgutil

SUBMISSIONS: dict[str, dict[str, str]] = {
    m.name: importlib.import_module(f"{__name__}.{m.name}").CELLS
    for m in pkgutil.iter_modules(__path__)
}
