"""Is a PDF we made inert? Every graded PDF is checked before it is written.

Student LaTeX never reaches xelatex (the PDF worker passes only an allow-list of math and
text commands), so this is the second wall: a PDF that holds an action, JavaScript or an
embedded file is refused whatever put it there. A PDF viewer runs such content when the
file is opened (/OpenAction, /AA), on a click (/Launch, /JavaScript links), or offers it
(/EmbeddedFiles).

The check is bounded and reads the file as bytes, not as a document: every PDF name
outside stream data, with ``#xx`` escapes undone, and every name inside each stream that
can hold objects or page content, inflated (an object stream hides dictionaries from a
plain search). Pixels and font programs are not searched (names cannot act there); a
stream whose filter it cannot undo, or that inflates past the budget, is refused too.
"""

from __future__ import annotations

import re
import zlib

# Keys and action types that make a PDF do something by itself or on a click.
ACTIVE = frozenset({
    "OpenAction", "AA", "JavaScript", "JS", "Launch", "EmbeddedFile", "EmbeddedFiles",
    "RichMedia", "SubmitForm", "ImportData", "GoToR", "GoToE", "XFA", "Sound", "Movie",
    "Rendition",
})  # fmt: skip
_ACTIVE_BYTES = frozenset(k.encode() for k in ACTIVE)
MAX_INFLATED = 256 << 20  # all streams together: a graded PDF has a few MB
MAX_STREAMS = 200_000
# Streams whose data are pixels or a font program: never parsed as PDF objects.
_OPAQUE = re.compile(rb"/(?:Subtype\s*/(?:Image|Type1C|CIDFontType0C|OpenType)|Length[123])\b")
_IMAGE_CODECS = {"DCTDecode", "JPXDecode", "CCITTFaxDecode", "JBIG2Decode"}
_NAME = re.compile(rb"/([^\s/<>\[\]()%{}\x00]*)")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")


def _names(data: bytes) -> list[str]:
    """Every PDF name in ``data``, in order, its #xx escapes undone."""
    return [
        (_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), n) if b"#" in n else n).decode("latin-1")
        for n in _NAME.findall(data)
    ]


def _active_names(data: bytes) -> set[str]:
    """The names of :data:`ACTIVE` in ``data`` (each distinct name decoded once)."""
    found = set()
    for n in set(_NAME.findall(data)):
        if b"#" in n:
            n = _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), n)
        if n in _ACTIVE_BYTES:
            found.add(n.decode("latin-1"))
    return found


def _filters(head: bytes) -> list[str]:
    """The names of a stream's /Filter (one, or an array), in the order they apply."""
    m = re.search(rb"/Filter\s*(\[[^\]]*\]|/[^\s/<>\[\]()%{}]+)", head)
    return [f for f in _names(m.group(1)) if f] if m else []


def _streams(data: bytes):
    """(start of the keyword, start of the data) of each ``stream`` keyword, in order
    (bytes.find: a regex with a word boundary scans binary data 50 times slower)."""
    at = data.find(b"stream")
    while at >= 0:
        after = at + len(b"stream")
        eol = 2 if data[after : after + 2] == b"\r\n" else 1 if data[after : after + 1] in (
            b"\n", b"\r") else 0  # fmt: skip
        if eol and (at == 0 or not data[at - 1 : at].isalpha()):
            yield at, after + eol
        at = data.find(b"stream", after)


def active_content(data: bytes) -> str | None:
    """Why the PDF ``data`` must not be handed out (what active content it holds), or None."""
    outside: list[bytes] = []
    budget = MAX_INFLATED
    pos = 0
    found: set[str] = set()
    for count, (keyword, start) in enumerate(_streams(data)):
        if keyword < pos:
            continue  # "stream" inside the data of the one before
        if count >= MAX_STREAMS:
            return "too many streams to check"
        # The stream's dictionary: from its object's "obj" to the keyword.
        obj = data.rfind(b"obj", pos, keyword)
        head = data[obj if obj >= 0 else pos : keyword]
        outside.append(data[pos:keyword])
        end = data.find(b"endstream", start)
        if end < 0:
            return "a stream without its end"
        body, pos = data[start:end], end + len(b"endstream")
        filters = _filters(head)
        if _OPAQUE.search(head) or (filters and filters[-1] in _IMAGE_CODECS):
            if not set(filters) <= {"FlateDecode", "Fl", *_IMAGE_CODECS}:
                return f"a stream with filter {'/'.join(filters)}"
            continue
        if any(f not in ("FlateDecode", "Fl") for f in filters):
            return f"a stream with filter {'/'.join(filters)}"
        for _ in filters:
            inflater = zlib.decompressobj()
            try:
                body = inflater.decompress(body, budget + 1)
            except zlib.error:
                return "a stream that does not inflate"
            if len(body) > budget or inflater.unconsumed_tail:
                return "streams that inflate past the check's budget"
        budget -= len(body)
        found |= _active_names(body)
    outside.append(data[pos:])
    for part in outside:
        found |= _active_names(part)
    return "active content: " + ", ".join(f"/{k}" for k in sorted(found)) if found else None
