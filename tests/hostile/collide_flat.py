from tests.hostile import Case

CASE = Case(
    doc="collide.ipynb, whose id collides with the nbgrader folder collide/hw2/hw2.ipynb",
    filename=b"collide.ipynb",
    reason="is shared by 2 submissions",
)
