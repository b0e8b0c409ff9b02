"""The graded PDF carries no active content, and no student page can pass for one we made.

Raw LaTeX reaches xelatex from a notebook in three ways: a raw block or inline (```{=latex}
…```, a bare \\command), math ($…$, $$…$$, \\begin{align}), and a code cell's text/latex
output. Each hostile case below is typeset for real and read back (pdftotext, the PDF's
own bytes with every stream inflated): no /OpenAction or /JavaScript, no page stamped or
deleted by a hook, and a forged score page carries the student-work footer. Every PDF is
also checked after it is made (autograder.report.pdf_check): one that holds active content
anyway is refused.
"""

from __future__ import annotations

import re
import subprocess
import zlib
from pathlib import Path

import nbformat
import pytest

from autograder.report import pdf, pdf_check
from autograder.report.pdf_sandbox import LatexRun
from tests.test_pdf_content import graded, text_of

pytestmark = pytest.mark.slow

JS = r"\special{pdf:put @catalog << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>}"
STAMP = "Verified by the autograder"


def inflated(path: Path) -> bytes:
    """The PDF's bytes followed by every stream inflated (object streams hide dictionaries)."""
    data = path.read_bytes()
    parts = [data]
    for m in re.finditer(rb"stream\r?\n", data):
        with_rest = data[m.end() : m.end() + (64 << 20)]
        try:
            parts.append(zlib.decompressobj().decompress(with_rest, 64 << 20))
        except zlib.error:
            pass
    return b"\n".join(parts)


def pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def assert_inert(path: Path) -> None:
    everything = inflated(path)
    keys = (b"/JavaScript", b"/JS", b"/OpenAction", b"/AA", b"/Launch", b"/GoToR", b"/EmbeddedFile")
    for key in keys:
        assert not re.search(re.escape(key) + rb"(?![A-Za-z])", everything), key
    js = subprocess.run(["pdfinfo", "-js", str(path)], capture_output=True, text=True).stdout
    assert "app.alert" not in js


def notebook(*cells) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=list(cells))


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text)


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(md(f"Before.\n\n```{{=latex}}\n{JS}\n```\n\nAfter."), id="raw_block"),
        pytest.param(md(f"Inline {JS} in a sentence."), id="raw_inline"),
        pytest.param(md(f"Math: ${JS}$ and more."), id="inline_math"),
        pytest.param(md(f"$$\n{JS}\n$$"), id="display_math"),
        pytest.param(md(f"\\begin{{align}}\n{JS} x &= 1\n\\end{{align}}"), id="math_environment"),
        pytest.param(
            md(
                "Hex: $\\sp^^65cial{pdf:put @catalog << /OpenAction << /S /JavaScript "
                "/JS (app.alert(1)) >> >>}$"
            ),
            id="caret_escape",
        ),
    ],
)
def test_student_latex_cannot_add_an_open_action(tmp_path, cell):
    outcome = graded(tmp_path, notebook(cell, md("The rest of my answer.")))
    assert_inert(outcome.path)
    text = text_of(outcome.path)
    assert "The rest of my answer." in text
    # Shown as the source it is, and page 1 says so.
    assert "pdf:put @catalog" in text and "LaTeX not typeset" in text
    assert "cell 1: LaTeX commands the PDF does not allow" in outcome.degraded


def test_a_link_to_a_file_is_its_text(tmp_path):
    # hyperref makes a link to a file an action that opens it: /GoToR for a PDF, /Launch.
    cell = md(
        "See [my notes](notes.pdf), [the tool](run:calc.exe) and [the web](https://a.example)."
    )
    outcome = graded(tmp_path, notebook(cell))
    assert_inert(outcome.path)
    assert "See my notes, the tool and the web." in text_of(outcome.path)


def test_a_latex_output_cannot_add_an_open_action(tmp_path):
    code = nbformat.v4.new_code_cell("show()")
    code.outputs = [nbformat.v4.new_output("display_data", data={
        "text/latex": JS + " $x^2$", "text/plain": "a plain fallback"})]  # fmt: skip
    outcome = graded(tmp_path, notebook(code, md("The rest of my answer.")))
    assert_inert(outcome.path)
    assert "a plain fallback" in text_of(outcome.path)


def test_a_shipout_hook_cannot_stamp_every_page(tmp_path):
    hook = f"```{{=latex}}\n\\AddToHook{{shipout/foreground}}{{\\put(100,-100){{{STAMP}}}}}\n```"
    filler = [md(f"Paragraph {k}: " + "words " * 120) for k in range(12)]
    outcome = graded(tmp_path, notebook(md(hook), *filler))
    n = pages(outcome.path)
    assert n >= 3
    # pdftotext interleaves a stamp with the text under it: look for its first word.
    stamped = [p for p in range(1, n + 1) if STAMP.split()[0] in text_of(outcome.path, p)]
    assert len(stamped) <= 1, stamped  # at most shown once, as the source it is


def test_a_shipout_hook_cannot_delete_pages(tmp_path):
    filler = [md(f"Paragraph {k}: " + "words " * 120) for k in range(12)]
    discard = r"\AddToHook{shipout/before}{\ifnum\value{page}>1 \DiscardShipoutBox\fi}"
    hook = f"```{{=latex}}\n{discard}\n```"
    plain = graded(tmp_path, notebook(*filler), name="plain")
    outcome = graded(tmp_path, notebook(md(hook), *filler), name="hooked")
    assert pages(outcome.path) >= pages(plain.path)
    assert "Paragraph 11" in text_of(outcome.path)


def test_a_forged_score_page_carries_the_student_work_footer(tmp_path):
    forged = md("# Scores\n\n**Student:** s1\\\n**Total: 10 / 10** (autograded 10 / 10)\n\n"
                "FORGED-SCORE-PAGE")  # fmt: skip
    outcome = graded(tmp_path, notebook(md("My first answer."), forged))
    n = pages(outcome.path)
    first = text_of(outcome.path, 1)
    assert "Score page, made by the autograder" in first and "Student work" not in first
    forged_pages = [p for p in range(1, n + 1) if "FORGED-SCORE-PAGE" in text_of(outcome.path, p)]
    assert forged_pages and forged_pages[0] > 1
    for p in forged_pages:
        page = text_of(outcome.path, p)
        assert "Student work of s1, page" in page and "made by the autograder" not in page


def test_every_student_page_is_numbered_and_names_the_student(tmp_path):
    filler = [md(f"Paragraph {k}: " + "words " * 120) for k in range(12)]
    outcome = graded(tmp_path, notebook(*filler), name="zz_17")
    n = pages(outcome.path)
    footers = [re.search(r"Student work of zz_17, page (\d+)", text_of(outcome.path, p))
               for p in range(1, n + 1)]  # fmt: skip
    numbers = [int(m.group(1)) for m in footers if m]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 2


# -- the check after every PDF ----------------------------------------------------------------


def _pdf(*objects: bytes) -> bytes:
    body = b"".join(b"%d 0 obj\n%s\nendobj\n" % (k + 1, o) for k, o in enumerate(objects))
    return b"%PDF-1.5\n" + body + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data)
    return b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n%s\nendstream" % (
        len(packed), extra, packed)  # fmt: skip


CLEAN = _pdf(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_pdf(b"<< /Type /Catalog /OpenAction 2 0 R >>", b"<< /S /GoTo >>"),
                     id="open_action"),
        pytest.param(_pdf(b"<< /Type /Catalog >>", b"<< /S /JavaScript /JS (x) >>"),
                     id="javascript"),
        pytest.param(_pdf(b"<< /Type /Catalog >>", b"<< /S /Java#53cript /JS (x) >>"),
                     id="hex_escaped_name"),
        pytest.param(_pdf(b"<< /Type /Catalog >>", b"<< /Type /Page /AA << /O 3 0 R >> >>"),
                     id="additional_actions"),
        pytest.param(_pdf(b"<< /Type /Catalog >>", b"<< /S /Launch /F (calc.exe) >>"),
                     id="launch"),
        pytest.param(_pdf(b"<< /Type /Catalog /Names << /EmbeddedFiles 2 0 R >> >>", b"<< >>"),
                     id="embedded_files"),
        pytest.param(_pdf(b"<< /Type /Catalog >>",
                          _stream(b"3 0 << /OpenAction << /S /JavaScript /JS (x) >> >>",
                                  b"/Type /ObjStm /N 1 /First 4 ")), id="object_stream"),
        pytest.param(_pdf(b"<< /Type /Catalog >>",
                          b"<< /Length 8 /Filter /ASCIIHexDecode >>\nstream\n2f4141\nendstream"),
                     id="unexpected_filter"),
        pytest.param(None, id="inflates_too_far"),  # built in the test
    ],
)  # fmt: skip
def test_the_check_refuses_active_content(data, monkeypatch):
    if data is None:  # a budget of 1 MiB here, as of MAX_INFLATED in use
        monkeypatch.setattr(pdf_check, "MAX_INFLATED", 1 << 20)
        data = _pdf(b"<< /Type /Catalog >>", _stream(b"\0" * (2 << 20)))
    assert pdf_check.active_content(data) is not None


def test_the_check_passes_a_plain_pdf_and_one_we_made(tmp_path):
    assert pdf_check.active_content(CLEAN) is None
    assert (
        pdf_check.active_content(_pdf(b"<< /Type /Catalog >>", _stream(b"BT (AA) Tj ET"))) is None
    )
    outcome = graded(tmp_path, notebook(md("Hello, $\\sigma(z)$.")))
    assert pdf_check.active_content(outcome.path.read_bytes()) is None


def test_a_pdf_with_active_content_is_refused_after_typesetting(tmp_path):
    """What the markdown filter would stop, given straight to xelatex: the check refuses it."""
    lane = pdf._shared_lane()
    fmt = pdf.format_dir(lane)
    body = "\\hwbegindocument\n" + JS + "\nHello.\n\\end{document}\n"
    run = pdf._typeset({"tex": "\\hwfonts\n" + body, "images": []}, b"", lane, fmt)
    assert isinstance(run, LatexRun) and run.pdf is None
    assert "active content" in run.log_tail


def test_a_students_own_export_has_no_score_page_footer(tmp_path):
    path = tmp_path / "my_hw2.ipynb"
    nbformat.write(notebook(md("My answer.")), path)
    outcome = pdf.export_pdf(path, tmp_path / "my_hw2.pdf")
    assert outcome.produced, outcome.reason
    first = text_of(outcome.path, 1)
    assert "My answer." in first and "Student work of my_hw2, page 1" in first
    assert "made by the autograder" not in text_of(outcome.path)
