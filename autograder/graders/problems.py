"""Inputs for the hidden graders and the values of common mistakes on them.

Everything here runs in the trusted process. The mistake variants let
feedback name what went wrong ("a factor 2 is missing") without revealing
a single reference value: feedback only ever says *which* variant matched.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np


def network(rng: np.random.Generator, d: int, h: int, k: int, n: int):
    """A random problem (x, y, W1, W2) with x (d, n), y (k, n), W1 (h, d), W2 (k, h)."""
    x = rng.normal(size=(d, n))
    y = rng.normal(size=(k, n))
    W1 = rng.normal(scale=0.8, size=(h, d))
    W2 = rng.normal(scale=0.8, size=(k, h))
    return x, y, W1, W2


def backward_mistakes(ref: ModuleType, x, y, W1, W2) -> tuple[dict, dict]:
    """Likely wrong (dW1, dW2): what each common slip in backpropagation would return."""
    Z, u, y_hat = ref.forward(x, W1, W2)
    dW1, dW2 = ref.backward(x, y, W1, W2)
    n = x.shape[1]
    delta = 2.0 * (y_hat - y)
    with_sigma = ((W2.T @ delta) * ref.sigmoid(Z)) @ x.T
    sigma_of_u = ((W2.T @ delta) * ref.sigmoid_grad(u)) @ x.T
    common = {
        "it is half the correct gradient: ∂L/∂ŷ = 2(ŷ − y) has a factor 2.": 0.5,
        "it has the wrong sign: ∂L/∂ŷ = 2(ŷ − y), not 2(y − ŷ).": -1.0,
        "it is the gradient of the mean loss: L sums over the batch, so do not divide by n.": 1 / n,
    }
    m1 = {msg: f * dW1 for msg, f in common.items()}
    m2 = {msg: f * dW2 for msg, f in common.items()}
    m1["it uses σ(Z) where σ'(Z) belongs: ∂L/∂Z = (W2ᵀ ∂L/∂ŷ) ⊙ σ'(Z)."] = with_sigma
    m1["it applies σ' to u = σ(Z) instead of to Z."] = sigma_of_u
    m1["it looks transposed: ∂L/∂W1 = (∂L/∂Z) xᵀ has the shape of W1."] = dW1.T
    m2["it looks transposed: ∂L/∂W2 = (∂L/∂ŷ) uᵀ has the shape of W2."] = dW2.T
    return m1, m2
