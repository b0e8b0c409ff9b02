"""Graded PDFs show everything the student put in the notebook, and degrade one cell at a time.

Each check reads the real PDF back with pdftotext or pdfimages.
"""

from __future__ import annotations

import base64
import io
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder.grade.outcome import SubmissionResult
from autograder.grade.outcome import TestOutcome as Check
from autograder.report import pdf, pdf_worker
from autograder.rubric import load_rubric
from tests.notebooks import answer

RUBRIC = load_rubric()
pytestmark = pytest.mark.slow


def text_of(path: Path, *pages: int, raw: bool = False) -> str:
    span = ["-f", str(pages[0]), "-l", str(pages[-1])] if pages else []
    span += ["-raw"] if raw else []
    out = subprocess.run(["pdftotext", *span, str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def images_of(path: Path) -> list[dict]:
    """pdfimages -list, one dict per image (width, height, type)."""
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[2:]  # fmt: skip
    rows = [r.split() for r in out]
    return [
        {"type": r[2], "width": int(r[3]), "height": int(r[4])} for r in rows if r[2] == "image"
    ]  # fmt: skip (an alpha channel is listed apart, as "smask")


def picture(fmt: str, size: tuple[int, int]) -> bytes:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", size, (250, 250, 245))
    draw = ImageDraw.Draw(im)
    for k in range(0, size[0], max(1, size[0] // 12)):
        draw.line(
            [(k, 0), (size[0] - k, size[1])], fill=(20, 20, 120), width=max(1, size[0] // 300)
        )
    buf = io.BytesIO()
    im.save(buf, fmt, quality=80) if fmt == "JPEG" else im.save(buf, fmt)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def graded(tmp_path: Path, nb, name: str = "s1"):
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    result = SubmissionResult(name, str(path), "graded", "", tests=[
        Check("sigmoid", "sigmoid: values", 1, "after_published", True)])  # fmt: skip
    outcome = pdf.render_graded_pdf(result, RUBRIC, path, tmp_path / f"{name}.pdf")
    assert outcome.produced, outcome.reason
    return outcome


def test_attached_phone_photo_is_shown_scaled_to_fit(tmp_path):
    photo = picture("JPEG", (4000, 3000))  # 12 megapixels
    dot = picture("PNG", (40, 30))
    cell = answer("My derivation:\n\n![photo of my work](attachment:IMG_2041.jpg)\n\nDone.",
                  "q1_backward")  # fmt: skip
    cell["attachments"] = {"IMG_2041.jpg": {"image/jpeg": b64(photo)}}
    inline = nbformat.v4.new_markdown_cell(f"A sketch: ![dot](data:image/png;base64,{b64(dot)})")
    nb = nbformat.v4.new_notebook(cells=[cell, inline])
    outcome = graded(tmp_path, nb)
    assert outcome.degraded == ""
    shown = images_of(outcome.path)
    assert len(shown) == 2, shown
    photo_in_pdf = max(shown, key=lambda i: i["width"])
    assert photo_in_pdf["width"] <= pdf_worker.MAX_SIDE  # scaled down, not 4000 px
    assert photo_in_pdf["width"] / photo_in_pdf["height"] == pytest.approx(4 / 3, rel=0.01)
    text = text_of(outcome.path)
    assert "My derivation:" in text and "Done." in text and "A sketch:" in text
    assert "image not shown" not in text
    # Scaled to the page: the photo adds at most one page to the same notebook without it
    # (the score page before it may itself take one or two pages).
    text_only = answer("My derivation:\n\nDone.", "q1_backward")
    plain = nbformat.v4.new_notebook(cells=[text_only, inline])
    without = graded(tmp_path, plain, "s0")

    def pages(path: Path) -> int:
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
        return int(re.search(r"Pages:\s+(\d+)", info).group(1))

    assert pages(outcome.path) <= pages(without.path) + 1


def test_svg_output_is_converted_and_shown(tmp_path):
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">'
           '<rect x="10" y="10" width="180" height="80" fill="#3050a0"/></svg>')  # fmt: skip
    out = nbformat.v4.new_output("display_data", data={"image/svg+xml": svg,
                                                        "text/plain": "<Figure SVG>"})  # fmt: skip
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plot()", outputs=[out])])
    outcome = graded(tmp_path, nb)
    [image] = images_of(outcome.path)
    assert image["width"] >= 200  # rasterised by rsvg-convert at print resolution
    assert "<Figure SVG>" not in text_of(outcome.path)  # the picture, not its text stand-in


def test_external_images_are_placeholders_never_read(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(picture("PNG", (50, 50)))
    md = (f"Local: ![a]({secret})\n\nFile URL: ![b](file://{secret})\n\n"
          "Web: ![c](https://example.com/c.png)\n\n"
          '<img src="http://example.com/d.png" width="50">\n\nAfter the images.')  # fmt: skip
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(md)])
    outcome = graded(tmp_path, nb)
    assert images_of(outcome.path) == []
    text = text_of(outcome.path, raw=True)
    assert text.count("image not shown: it points outside the notebook") == 4, text
    assert "After the images." in text


def test_corrupt_image_is_a_placeholder_and_the_rest_is_normal(tmp_path):
    good = picture("PNG", (60, 40))
    broken = good[:200] + b"\x00" * 300  # a PNG cut short
    cell = nbformat.v4.new_markdown_cell("Before $\\alpha_1$. ![x](attachment:x.png) After.")
    cell["attachments"] = {"x.png": {"image/png": b64(broken)}}
    out = nbformat.v4.new_output("display_data", data={"image/png": b64(good)})
    bad_out = nbformat.v4.new_output("display_data", data={"image/png": b64(broken)})
    nb = nbformat.v4.new_notebook(
        cells=[cell, nbformat.v4.new_code_cell("show()", outputs=[out, bad_out])]
    )
    outcome = graded(tmp_path, nb)
    assert outcome.degraded == ""
    text = text_of(outcome.path)
    assert text.count("image not shown: the image could not be read") == 2, text
    assert "Before α1 . " in text or "Before α1." in text or "α1" in text
    assert "\\alpha" not in text and "After." in text
    assert len(images_of(outcome.path)) == 1  # the good output image


def test_one_broken_markdown_cell_is_shown_as_source_and_page_1_says_so(tmp_path):
    cells = [
        nbformat.v4.new_markdown_cell("Good first: $\\rho_1 = \\eta a$."),
        answer("Wrong: $W_1 \\in \\mathbb{R}^{h\\times d\\)$ oops", "q1_backward"),
        nbformat.v4.new_code_cell("def sigmoid(z):\n    return z"),
        answer("Good last: $\\sigma'(Z) = u \\odot (1 - u)$.", "q1_graph"),
    ]
    outcome = graded(tmp_path, nbformat.v4.new_notebook(cells=cells))
    assert "answer to Q1(c)" in outcome.degraded and "LaTeX error" in outcome.degraded
    assert "answer to Q1(a)" not in outcome.degraded
    page1 = text_of(outcome.path, 1)
    assert "Not typeset as written" in page1 and "answer to Q1(c)" in page1, page1
    text = text_of(outcome.path)
    assert "\\mathbb{R}^{h\\times d\\)" in text  # the broken cell, verbatim in its box
    assert "Shown as source: LaTeX error" in text
    assert "\\rho" not in text and "\\sigma" not in text  # the others still typeset
    assert "ρ1 = ηa" in text.replace(" ", " ") or "ρ1" in text
    assert "Autograder feedback, sigmoid" in text


def test_tracebacks_have_no_ansi_codes_and_long_lines_wrap(tmp_path):
    long = "Z" * 60 + "/" + "Y" * 260  # one word, longer than the page is wide
    tb = ["\x1b[0;31m" + "-" * 75 + "\x1b[0m",
          "\x1b[0;31mAssertionError\x1b[0m" + " " * 28 + "Traceback (most recent call last)",
          f"Cell \x1b[0;32mIn[3], line 1\x1b[0m\n\x1b[0;32m----> 1\x1b[0m {long}",
          "\x1b[31mAssertionError\x1b[39m: shapes differ"]  # fmt: skip
    err = nbformat.v4.new_output("error", ename="AssertionError", evalue="shapes differ",
                                 traceback=tb)  # fmt: skip
    code = nbformat.v4.new_code_cell("x = " + "1 + " * 80 + "1", outputs=[err])
    outcome = graded(tmp_path, nbformat.v4.new_notebook(cells=[code]))
    text = text_of(outcome.path)
    assert "AssertionError" in text and "shapes differ" in text
    assert "[0;31m" not in text and "[31m" not in text and "\x1b" not in text
    assert "\ufffd" not in text
    # every word lies inside the page: nothing runs off the right margin
    bbox = subprocess.run(["pdftotext", "-bbox", str(outcome.path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))
    right = [float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox)]
    assert right and max(right) <= width - 36, (max(right), width)
    joined = text.replace(" ", "").replace("↪", "").replace("→", "").replace(",", "")
    assert "Y" * 200 in joined.replace("\n", "") or joined.count("Y") >= 260


def test_title_shows_the_student_once(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Hello.")])
    outcome = graded(tmp_path, nb, name="zz_student_17")
    assert text_of(outcome.path, 1).count("zz_student_17") == 1


def test_nbformat_3_notebook_is_upgraded(tmp_path):
    nb4 = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Old format, $\\eta$.")])
    raw = nbformat.writes(nbformat.convert(nb4, 3)).encode()
    path = tmp_path / "old.ipynb"
    path.write_bytes(raw)
    outcome = pdf.export_pdf(path, tmp_path / "old.pdf")
    assert outcome.produced and outcome.degraded == "", outcome.reason
    assert "Old format, η." in text_of(outcome.path)


def test_a_pasted_photo_in_every_answer_gives_a_normal_pdf(tmp_path):
    """Colab's way: each written answer holds a ~300 KB image inline as a data: URI."""
    import json
    import os

    from PIL import Image

    from tests.notebooks import MANUAL, REPO

    nb = json.loads((REPO / "examples" / "submissions" / "correct.ipynb").read_text())
    for k, cell in enumerate(nb["cells"]):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in MANUAL:
            buf = io.BytesIO()
            Image.frombytes("RGB", (316, 316), os.urandom(316 * 316 * 3)).save(buf, "PNG")
            assert len(buf.getvalue()) > 290_000
            pasted = f"![image.png](data:image/png;base64,{b64(buf.getvalue())})"
            cell["source"] = f"Answer {k}: $\\nabla L$.\n\n{pasted}"
    outcome = graded(tmp_path, nbformat.reads(json.dumps(nb), as_version=4))
    assert outcome.degraded == "" and outcome.seconds < pdf.PDF_DEADLINE, outcome
    assert len([i for i in images_of(outcome.path) if i["width"] == 316]) == len(MANUAL)
    text = text_of(outcome.path)
    assert "Shown as source" not in text and "base64" not in text
