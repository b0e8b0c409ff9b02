"""The mutation catalog: common student mistakes, each a whole buggy answer cell.

Each entry: (id, function, source, feedback fragment). The graders must take
points off ``function`` (and may off the functions that call it, DEPENDENTS),
keep full marks everywhere else, and explain the mistake with the fragment.
"""

from __future__ import annotations

# Which student functions call which, in the instructor's solution cells.
CALLS = {
    "sigmoid_grad": {"sigmoid"},
    "forward": {"sigmoid"},
    "backward": {"forward", "sigmoid_grad"},
    "train": {"forward", "backward", "squared_error"},
    "gd_step": {"quadratic_grad"},
    "gd_trajectory": {"gd_step"},
    "steps_to_tolerance": {"contraction_factors"},
}


def dependents(fn: str) -> set[str]:
    """``fn`` and every function that calls it, directly or not."""
    out, frontier = {fn}, {fn}
    while frontier:
        frontier = {g for g, callees in CALLS.items() if callees & frontier} - out
        out |= frontier
    return out


MUTATIONS = [
    (
        "missing_factor_2",
        "backward",
        """
def backward(x, y, W1, W2):
    Z, u, y_hat = forward(x, W1, W2)
    delta = y_hat - y
    return ((W2.T @ delta) * sigmoid_grad(Z)) @ x.T, delta @ u.T
""",
        "factor 2",
    ),
    (
        "sigma_for_sigma_prime",
        "backward",
        """
def backward(x, y, W1, W2):
    Z, u, y_hat = forward(x, W1, W2)
    delta = 2 * (y_hat - y)
    return ((W2.T @ delta) * sigmoid(Z)) @ x.T, delta @ u.T
""",
        "σ(Z) where σ'(Z) belongs",
    ),
    (
        "transposed_dW1",
        "backward",
        """
def backward(x, y, W1, W2):
    Z, u, y_hat = forward(x, W1, W2)
    delta = 2 * (y_hat - y)
    return (x @ ((W2.T @ delta) * sigmoid_grad(Z)).T), delta @ u.T
""",
        "transposed",
    ),
    (
        "gradient_ascent_backward",
        "backward",
        """
def backward(x, y, W1, W2):
    Z, u, y_hat = forward(x, W1, W2)
    delta = 2 * (y - y_hat)
    return ((W2.T @ delta) * sigmoid_grad(Z)) @ x.T, delta @ u.T
""",
        "wrong sign",
    ),
    (
        "mean_gradient",
        "backward",
        """
def backward(x, y, W1, W2):
    Z, u, y_hat = forward(x, W1, W2)
    delta = 2 * (y_hat - y) / x.shape[1]
    return ((W2.T @ delta) * sigmoid_grad(Z)) @ x.T, delta @ u.T
""",
        "mean loss",
    ),
    (
        "only_n_equals_1",
        "backward",
        """
def backward(x, y, W1, W2):
    Z, u, y_hat = forward(x, W1, W2)
    delta = 2 * (y_hat - y)
    dW2 = np.outer(delta[:, 0], u[:, 0])
    dZ = (W2.T @ delta) * sigmoid_grad(Z)
    return np.outer(dZ[:, 0], x[:, 0]), dW2
""",
        "right for n = 1",
    ),
    (
        "mean_loss",
        "squared_error",
        """
def squared_error(y_hat, y):
    return float(np.mean((y_hat - y) ** 2))
""",
        "mean",
    ),
    (
        "half_loss",
        "squared_error",
        """
def squared_error(y_hat, y):
    return 0.5 * float(np.sum((y_hat - y) ** 2))
""",
        "factor ½",
    ),
    (
        "output_activation",
        "forward",
        """
def forward(x, W1, W2):
    Z = W1 @ x
    u = sigmoid(Z)
    return Z, u, sigmoid(W2 @ u)
""",
        "activation was applied to the output",
    ),
    (
        "forward_shape_error",
        "forward",
        """
def forward(x, W1, W2):
    Z = (W1 @ x).T
    u = sigmoid(Z)
    return Z, u, (W2 @ u.T).T
""",
        "shape",
    ),
    (
        "naive_sigmoid_nan",
        "sigmoid",
        """
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(z) / (1.0 + np.exp(z))
""",
        "nan or inf for large |z|",
    ),
    (
        "sigmoid_grad_is_sigma",
        "sigmoid_grad",
        """
def sigmoid_grad(z):
    return sigmoid(z)
""",
        "σ(z) itself",
    ),
    (
        "one_sided_difference",
        "numerical_gradient",
        """
def numerical_gradient(f, W, eps=1e-5):
    W = np.array(W, dtype=float)
    grad = np.zeros_like(W)
    f0 = f(W)
    for i in np.ndindex(W.shape):
        old = W[i]
        W[i] = old + eps
        grad[i] = (f(W) - f0) / eps
        W[i] = old
    return grad
""",
        "one-sided",
    ),
    (
        "numgrad_leaves_W_changed",
        "numerical_gradient",
        """
def numerical_gradient(f, W, eps=1e-5):
    grad = np.zeros_like(W)
    for i in np.ndindex(W.shape):
        W[i] += eps
        f_plus = f(W)
        W[i] -= 2 * eps
        f_minus = f(W)
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
""",
        "left W changed",
    ),
    (
        "train_in_place",
        "train",
        """
def train(x, y, W1, W2, lr, num_steps):
    losses = [squared_error(forward(x, W1, W2)[2], y)]
    for _ in range(num_steps):
        dW1, dW2 = backward(x, y, W1, W2)
        W1 -= lr * dW1
        W2 -= lr * dW2
        losses.append(squared_error(forward(x, W1, W2)[2], y))
    return W1, W2, np.array(losses)
""",
        "in place",
    ),
    (
        "gd_sign_flip",
        "gd_step",
        """
def gd_step(w, a, b, lr):
    return w + lr * quadratic_grad(w, a, b)
""",
        "uphill",
    ),
    (
        "wrong_convergence_bound",
        "max_stable_lr",
        """
def max_stable_lr(a, b):
    return 2.0 / min(a, b)
""",
        "2 / min(a, b)",
    ),
    (
        "trajectory_off_by_one",
        "gd_trajectory",
        """
def gd_trajectory(w0, a, b, lr, num_steps):
    w, rows = np.asarray(w0, dtype=float), []
    for _ in range(num_steps):
        w = gd_step(w, a, b, lr)
        rows.append(w)
    return np.array(rows)
""",
        "num_steps + 1 rows",
    ),
    (
        "rho_sign",
        "contraction_factors",
        """
def contraction_factors(a, b, lr):
    return 1 + lr * a, 1 + lr * b
""",
        "sign of η flipped",
    ),
    (
        "optimal_is_one_over_max",
        "optimal_lr",
        """
def optimal_lr(a, b):
    return 1.0 / max(a, b)
""",
        "1 / max(a, b)",
    ),
    (
        "divergence_returns_none",
        "steps_to_tolerance",
        """
def steps_to_tolerance(w0, a, b, lr, tol):
    w, t = np.asarray(w0, dtype=float), 0
    while np.linalg.norm(w) > tol:
        if t > 10_000 or np.linalg.norm(w) > 1e6:
            return None
        w = gd_step(w, a, b, lr)
        t += 1
    return t
""",
        "math.inf",
    ),
    (
        "steps_from_a_bound",
        "steps_to_tolerance",
        """
def steps_to_tolerance(w0, a, b, lr, tol):
    norm0 = np.linalg.norm(np.asarray(w0, dtype=float))
    if norm0 <= tol:
        return 0
    worst = max(abs(r) for r in contraction_factors(a, b, lr))
    if worst >= 1:
        return math.inf
    return math.ceil(math.log(tol / norm0) / math.log(worst))  # max|ρ|^t ‖w0‖ ≤ tol
""",
        "over-counts when the coordinates shrink at different rates",
    ),
]

# Correct, differently written answers: each must earn full marks.
ALTERNATIVES = [
    (
        "einsum",
        {
            "forward": """
def forward(x, W1, W2):
    Z = np.einsum("hd,dn->hn", W1, x)
    u = 1 / (1 + np.exp(-Z))
    return Z, u, np.einsum("kh,hn->kn", W2, u)
""",
            "backward": """
def backward(x, y, W1, W2):
    Z, u, y_hat = forward(x, W1, W2)
    delta = 2 * (y_hat - y)
    dZ = np.einsum("kh,kn->hn", W2, delta) * sigmoid_grad(Z)
    return np.einsum("hn,dn->hd", dZ, x), np.einsum("kn,hn->kh", delta, u)
""",
        },
    ),
    (
        "per_example_loops",
        {
            "backward": """
def backward(x, y, W1, W2):
    dW1, dW2 = np.zeros(W1.shape), np.zeros(W2.shape)
    for j in range(x.shape[1]):
        xj, yj = x[:, j:j + 1], y[:, j:j + 1]
        z = W1 @ xj
        u = sigmoid(z)
        e = 2 * (W2 @ u - yj)
        dW2 += e @ u.T
        dW1 += ((W2.T @ e) * u * (1 - u)) @ xj.T
    return dW1, dW2
""",
            "squared_error": """
def squared_error(y_hat, y):
    total = 0.0
    for a, b in zip(np.ravel(y_hat), np.ravel(y)):
        total += (a - b) ** 2
    return total
""",
        },
    ),
    (
        "in_place_numgrad_float32",
        {
            "numerical_gradient": """
def numerical_gradient(f, W, eps=1e-5):
    grad = np.zeros(W.shape)
    for i in np.ndindex(W.shape):
        W[i] += eps
        f_plus = f(W)
        W[i] -= 2 * eps
        f_minus = f(W)
        W[i] += eps  # restores W (up to rounding)
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
""",
            "sigmoid": """
def sigmoid(z):
    z = np.asarray(z, dtype=np.float32)
    return (0.5 * (1 + np.tanh(0.5 * z))).astype(np.float32)
""",
            "gd_trajectory": """
def gd_trajectory(w0, a, b, lr, num_steps):
    rho = np.array(contraction_factors(a, b, lr))
    return np.asarray(w0, dtype=float) * rho ** np.arange(num_steps + 1)[:, None]
""",
        },
    ),
]

# Every function returns correctly shaped zeros or a copy of its input: it must score 0,
# side conditions included (inputs unchanged, W restored, zero steps).
DO_NOTHING = {
    "computational_graph": "def computational_graph():\n    return []\n",
    "sigmoid": "def sigmoid(z):\n    return np.zeros_like(np.asarray(z, dtype=float))\n",
    "sigmoid_grad": "def sigmoid_grad(z):\n    return np.zeros_like(np.asarray(z, dtype=float))\n",
    "forward": """def forward(x, W1, W2):
    n = x.shape[1]
    return np.zeros((W1.shape[0], n)), np.zeros((W1.shape[0], n)), np.zeros((W2.shape[0], n))
""",
    "squared_error": "def squared_error(y_hat, y):\n    return 0.0\n",
    "backward": "def backward(x, y, W1, W2):\n    return np.zeros_like(W1), np.zeros_like(W2)\n",
    "numerical_gradient": "def numerical_gradient(f, W, eps=1e-5):\n    return np.zeros_like(W)\n",
    "train": """def train(x, y, W1, W2, lr, num_steps):
    return W1.copy(), W2.copy(), np.zeros(num_steps + 1)
""",
    "quadratic_loss": "def quadratic_loss(w, a, b):\n    return 0.0\n",
    "quadratic_grad": "def quadratic_grad(w, a, b):\n    return np.zeros(2)\n",
    "gd_step": "def gd_step(w, a, b, lr):\n    return np.array(w, dtype=float)\n",
    "gd_trajectory": """def gd_trajectory(w0, a, b, lr, num_steps):
    return np.tile(np.asarray(w0, dtype=float), (num_steps + 1, 1))
""",
    "contraction_factors": "def contraction_factors(a, b, lr):\n    return 1.0, 1.0\n",
    "max_stable_lr": "def max_stable_lr(a, b):\n    return 0.0\n",
    "optimal_lr": "def optimal_lr(a, b):\n    return 0.0\n",
    "steps_to_tolerance": "def steps_to_tolerance(w0, a, b, lr, tol):\n    return 0\n",
}
