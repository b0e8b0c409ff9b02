from tests.hostile import Case

CASE = Case(
    doc="a file name that is not UTF-8 (M\\x81ller.ipynb, as zips made on Windows have)",
    filename=b"M\x81ller.ipynb",
)
