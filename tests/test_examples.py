"""The bundled example submissions are built from the current notebooks, not hand-edited."""

import nbformat
import pytest

from examples.build_examples import EXAMPLES, TYPICAL_MISTAKES, submission


@pytest.mark.parametrize(
    "name, nb",
    [
        ("correct", submission()),
        ("typical_mistakes", submission(TYPICAL_MISTAKES)),
        ("stub", submission(solved=False)),
    ],
)
def test_examples_are_up_to_date(name, nb):
    committed = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    assert committed == nb, f"run `.venv/bin/python examples/build_examples.py` ({name})"
