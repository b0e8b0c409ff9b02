"""steps_to_tolerance as a numpy integer from a vectorised search, quadratic_grad as float32."""

CELLS = {
    "steps_to_tolerance": """def steps_to_tolerance(w0, a, b, lr, tol):
    w0 = np.abs(np.asarray(w0, dtype=float))
    rho = np.abs(np.asarray(contraction_factors(a, b, lr)))
    live = w0 > 0
    w0, rho = w0[live], rho[live]
    if np.linalg.norm(w0) <= tol:
        return np.int64(0)
    if np.any(rho > 1) or np.linalg.norm(w0[rho == 1]) >= tol:
        return math.inf
    t = np.int64(1)
    with np.errstate(under="ignore"):
        while np.linalg.norm(w0 * rho**t) > tol:
            t *= 2
        lo = t // 2
        while t - lo > 1:
            mid = (lo + t) // 2
            if np.linalg.norm(w0 * rho**mid) <= tol:
                t = mid
            else:
                lo = mid
    return t
""",
    "quadratic_grad": """def quadratic_grad(w, a, b):
    return np.array([a, b], dtype=np.float32) * np.asarray(w, dtype=np.float32)
""",
}
