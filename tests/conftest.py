"""Shared fixtures: the repo root on sys.path, and graded batches of built submissions."""

from __future__ import annotations

import sys
from pathlib import Path

# pytester: the unit tests of GradingPlugin run an inner pytest session over fake graders.
pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
