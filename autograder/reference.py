"""The reference solution, solutions/hw2.py, loaded as a module.

Trusted: the instructor's own file, loaded only in the trusted process (the hidden
graders' ``ref`` fixture, the otter recording, the tests), never where student code
runs. solutions/ is not a package, so the file is loaded by path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from autograder import REFERENCE_PY


def load_reference(path: Path = REFERENCE_PY) -> ModuleType:
    """A fresh module object for the reference at ``path`` (each call executes it anew)."""
    spec = importlib.util.spec_from_file_location("hw2_reference", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the reference solution {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
