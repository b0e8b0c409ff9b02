"""Make text from student data inert before an instructor reads it.

Student data is hostile: a file name, an exception message, a class name. Two
sinks can be attacked through it:

- a **terminal** (the summary, the progress line, stderr messages, and files an
  instructor `cat`s: logs, CSVs) runs escape sequences: ESC/CSI/OSC can clear the
  screen, set the window title, plant hyperlinks or (OSC 52) write the clipboard;
- a **spreadsheet** runs a CSV cell beginning with ``=``, ``+``, ``-``, ``@``, tab or
  CR as a formula (OWASP "CSV injection").

:func:`visible` shows every control character escaped (``\\x1b``), so the text
stays readable and nothing runs; :func:`csv_cell` also prefixes a formula-like
cell with ``'``, as OWASP recommends, so the file stays valid CSV and the cell
reads as text. Numbers are written by the reports as numbers, never through here.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

# C0 controls (tab and newline are allowed back in by ``keep``), DEL, C1 controls
# (0x9b is an 8-bit CSI), bidi overrides and isolates ("Trojan Source"), line and
# paragraph separators, and lone surrogates (not text at all).
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, keep: str = "") -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``).

    ``keep`` lists control characters to leave as they are, e.g. ``"\\n"`` for a
    multi-line log. Printable text, accents and non-Latin scripts are unchanged.
    """
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else _escape(m), text)


def csv_cell(text: str) -> str:
    """A CSV cell from student data: visible, and never read as a spreadsheet formula."""
    text = visible(text, keep="\n")
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """``header`` and ``rows`` as CSV text, by the csv module (its quoting, "\\n" line ends).

    Cells are written as given: text from student data must have gone through
    :func:`csv_cell` first; numbers are written as numbers.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def from_csv_cell(cell: str) -> str:
    """Undo :func:`csv_cell`'s formula guard when reading back a file we wrote."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_START):
        return cell[1:]
    return cell


def json_text(text: str) -> str:
    """Serialised JSON with the control characters json leaves raw (C1, bidi) as ``\\u``
    escapes: still the same JSON value, inert in a terminal."""
    return _CONTROL.sub(
        lambda m: m.group() if m.group() == "\n" else f"\\u{ord(m.group()):04x}", text
    )


def path_text(path: Path | str) -> str:
    """A file path for display: undecodable bytes as ``\\x81``, controls escaped."""
    raw = os.fsencode(path)
    return visible(raw.decode("utf-8", "backslashreplace"))


def counted(n: int, noun: str) -> str:
    """ "1 notebook", "2 notebooks": a count with its noun (regular plurals only)."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
