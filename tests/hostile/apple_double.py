from tests.hostile import Case

CASE = Case(
    doc="a macOS AppleDouble file ._collide.ipynb from a zip made on a Mac",
    filename=b"._collide.ipynb",
    raw=b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(4000),
    status="unreadable",
    reason="AppleDouble",
)
