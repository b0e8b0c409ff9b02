"""The test objective for ``numerical_gradient``: its one definition, on both sides of the wire.

The trusted side sends only its parameters (``c``, ``scale``); the sandboxed worker
rebuilds the function from them (this file is shipped beside worker.py), and the
hidden graders use the same object for the exact gradient. Deliberately unrelated to
the homework's network, so that nothing in the sandbox hints at a solution.

    f(W) = Σ c ⊙ exp(scale · W) + ½ (Σ W)²
    ∇f(W) = scale · c ⊙ exp(scale · W) + Σ W

It is curved enough that a one-sided difference is visibly less accurate than a
central one. Only the standard library and numpy: the worker imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KIND = "exp_mix"


@dataclass(frozen=True)
class Objective:
    """f(W) = Σ c ⊙ exp(scale · W) + ½ (Σ W)², for a W of the shape of ``c``."""

    c: np.ndarray
    scale: float

    def __call__(self, W: np.ndarray) -> float:
        return float(np.sum(self.c * np.exp(self.scale * W)) + 0.5 * np.sum(W) ** 2)

    def gradient(self, W: np.ndarray) -> np.ndarray:
        """∇f(W) = scale · c ⊙ exp(scale · W) + Σ W (exact)."""
        return self.scale * self.c * np.exp(self.scale * W) + np.sum(W)
