"""steps_to_tolerance with the math module: exponential then binary search on t."""

CELLS = {
    "steps_to_tolerance": """def steps_to_tolerance(w0, a, b, lr, tol):
    r1, r2 = (abs(r) for r in contraction_factors(a, b, lr))
    w1, w2 = abs(float(w0[0])), abs(float(w0[1]))

    def norm(t):
        return math.hypot(w1 * r1**t if w1 else 0.0, w2 * r2**t if w2 else 0.0)

    if norm(0) <= tol:
        return 0
    if (w1 and r1 > 1) or (w2 and r2 > 1):
        return math.inf
    if math.hypot(w1 if r1 == 1 else 0.0, w2 if r2 == 1 else 0.0) >= tol:
        return math.inf
    hi = 1
    while norm(hi) > tol:
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if norm(mid) <= tol:
            hi = mid
        else:
            lo = mid
    return hi
""",
    "contraction_factors": """def contraction_factors(a, b, lr):
    return (math.fsum([1.0, -lr * a]), math.fsum([1.0, -lr * b]))
""",
}
