"""Fixtures for the hidden graders: the sandbox hides behind `student`.

`submission` is parametrised by autograder.grade.session (one value per
submission, session scope); `grading` is the session's plugin.
"""

from __future__ import annotations

import zlib
from types import ModuleType

import numpy as np
import pytest

from autograder.reference import load_reference


@pytest.fixture(scope="session")
def ref() -> ModuleType:
    """The reference solution module, solutions/hw2.py (trusted: the instructor's own file)."""
    return load_reference()


@pytest.fixture(scope="session")
def student(submission, grading):
    """Proxy for the submission's functions, running in its own sandbox."""
    proxy = grading.open_student(submission)
    yield proxy
    grading.close_student(submission, proxy)


@pytest.fixture
def rng(request) -> np.random.Generator:
    """Inputs drawn by the trusted side; the same for every submission, fixed per test."""
    return np.random.default_rng(zlib.crc32(request.node.originalname.encode()))
