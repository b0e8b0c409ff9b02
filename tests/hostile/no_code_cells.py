import nbformat

from tests.hostile import ALL, Case

CASE = Case(
    doc="a valid notebook with no code cells",
    raw=nbformat.writes(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("hi")])
    ).encode(),
    zero=ALL,
)
