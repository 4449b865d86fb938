"""Bytes to text: HTML decoding, binary detection and text normalisation.

Saved pages arrive in whatever encoding they declare (BOM, ``<meta charset>``),
exports hand us strings; both end up as ``str`` here. Binary content (PDF,
images, archives) is refused with a clear message instead of being parsed as
garbage.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Sequence

_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"PK\x03\x04": "a ZIP archive",
    b"\x1f\x8b": "gzip-compressed data",
    b"RIFF": "a RIFF (WebP/AVI) file",
    b"\x00\x00\x00": "binary data",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_WORD = re.compile(r"\w+", re.U)


class BinaryContent(ValueError):
    """The bytes are not an HTML page."""


def sniff_binary(head: bytes) -> str | None:
    """Name of the binary format the first bytes look like, or None if it may be text."""
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return what
    sample = head[:4096]
    if not sample:
        return None
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    if b"\x00" in sample:
        return "binary data (NUL bytes)"
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    if control / len(sample) > 0.05:
        return "binary data (control bytes)"
    return None


def declared_encoding(data: bytes) -> str | None:
    """Encoding from a BOM or a <meta charset> in the first 4 KB, if it names a real codec."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    m = _META_CHARSET.search(data[:4096])
    if m:
        name = m.group(1).decode("ascii", "ignore").lower()
        try:
            return codecs.lookup(name).name
        except LookupError:
            return None
    return None


def decode_html(data: str | bytes) -> str:
    """Decode page bytes (declared encoding, then UTF-8, then cp1252) or check a str."""
    if isinstance(data, str):
        what = sniff_binary(data[:4096].encode("utf-8", "replace"))
        if what:
            raise BinaryContent(f"content looks like {what}, not HTML")
        return data
    what = sniff_binary(data[:4096])
    if what:
        raise BinaryContent(f"content looks like {what}, not HTML")
    enc = declared_encoding(data)
    for candidate in (enc, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", errors="replace")


def norm_text(s: str) -> str:
    """NFKC, lower case, non-word characters to single spaces (for matching text)."""
    s = unicodedata.normalize("NFKC", s).lower()
    return " ".join(_WORD.findall(s))


def collapse_ws(s: str) -> str:
    return " ".join(s.split())


def normalise_terms(terms: Sequence[str]) -> tuple[str, ...]:
    """Brand names or keywords as anchors are compared with them: NFKC, lower case, single spaces;
    comma-separated lists are split, blanks dropped, order kept."""
    out: dict[str, None] = {}
    for t in terms:
        for part in str(t).split(","):
            words = " ".join(norm_text(part).split())
            if words:
                out[words] = None
    return tuple(out)
