from tests.hostile import Case, callers

CASE = Case(
    doc="walking the filesystem from /, the cwd's parents and /proc/*/cwd for the graders",
    overrides={
        "contraction_factors": """
def contraction_factors(a, b, lr):
    import glob, os
    roots = ["/", os.path.dirname(os.getcwd()), *glob.glob("/proc/*/cwd"), *glob.glob("/proc/*/root")]
    for root in roots:
        for dirpath, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("usr", "proc", "sys", "dev", "site-packages")]
            for name in files:
                if name in ("hw2.py", "test_part2_descent.py", "rubric.toml"):
                    raise RuntimeError("FOUND " + os.path.join(dirpath, name))
    return 0.5, 0.5
"""
    },
    zero=frozenset({"contraction_factors"}),
    hurt=callers("contraction_factors"),
)
