"""Decoding the text files people hand to funnelsync, whatever saved them.

Accepted: UTF-8 with or without a byte-order mark (Windows editors add one), and UTF-16 with a
byte-order mark (Windows PowerShell's ``>`` and ``Out-File`` default) or without one when the
text starts with an ASCII character (every JSON, JSON-lines and TOML file does). Anything else
is UTF-8, and bytes that are not valid UTF-8 are reported with their line, column and value,
never as a traceback. A stream of lines keeps going past a bad line: one Latin-1 line in a
UTF-8 export costs that line only.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from funnelsync.errors import ConfigError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16",
          "utf-16-le": "UTF-16", "utf-16-be": "UTF-16"}
SAVE_AS_UTF8 = "save the file as UTF-8"


@dataclass(frozen=True)
class BadLine:
    """A line of input whose bytes are not valid in the input's encoding."""

    reason: str


def sniff_encoding(head: bytes) -> str:
    """The codec for a file starting with ``head`` (its first bytes): by byte-order mark, or
    UTF-16 without one when every other byte of the first character is NUL, else UTF-8."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    if len(head) >= 2 and head[0] != 0 and head[1] == 0:
        return "utf-16-le"
    if len(head) >= 2 and head[0] == 0 and head[1] != 0:
        return "utf-16-be"
    return "utf-8"


def decode_text(data: bytes) -> str:
    """A whole file's bytes as text; ValueError naming the line and byte when they cannot be
    decoded."""
    codec = sniff_encoding(data[:4])
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise ValueError(_describe(exc, data, codec)) from None


def _describe(exc: UnicodeDecodeError, data: bytes, codec: str) -> str:
    name = _NAMES.get(codec, codec)
    if name != "UTF-8":
        return f"not valid {name} (at byte {exc.start + 1})"
    line = data.count(b"\n", 0, exc.start) + 1
    start = data.rfind(b"\n", 0, exc.start) + 1
    return f"line {line}: {_bad_utf8(data[start:exc.start], data[exc.start])}"


def _bad_utf8(before: bytes, byte: int) -> str:
    column = len(before.decode("utf-8", errors="replace").lstrip("\ufeff")) + 1
    return f"not valid UTF-8 (byte 0x{byte:02x} at column {column})"


def decode_lines(chunks: Iterable[bytes]) -> Iterator[str | BadLine]:
    """The lines of a byte stream (a binary file, read lazily), each with its line end, one
    item per line: text, or a BadLine for a line that cannot be decoded."""
    for line in utf8_or_decoded_lines(chunks):
        yield decode_utf8_line(line) if type(line) is bytes else line


def utf8_or_decoded_lines(chunks: Iterable[bytes]) -> Iterator[bytes | str | BadLine]:
    """The lines of a byte stream as ``decode_lines`` gives them, except that UTF-8 lines stay
    bytes (without the byte-order mark): a reader that parses UTF-8 itself need not decode
    them, and ``decode_utf8_line`` does when it must."""
    it = iter(chunks)
    head: list[bytes] = []
    for chunk in it:
        head.append(chunk)
        if sum(map(len, head)) >= 4:
            break
    codec = sniff_encoding(b"".join(head)[:4])
    if codec.startswith("utf-16"):
        yield from _utf16_lines(b"".join(head), it, codec)
        return
    lines = _utf8_lines(chain(head, it))
    first = next(lines, None)
    if first is not None:
        yield first.removeprefix(codecs.BOM_UTF8)
        yield from lines


def _utf8_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Byte lines, each with its line end; a chunk that is one whole line (what a binary
    file's lines are) passes as it is."""
    pending = b""
    for chunk in chunks:
        if not pending and chunk and chunk.find(b"\n") == len(chunk) - 1:
            yield chunk
            continue
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            yield line + b"\n"
    if pending:
        yield pending


def decode_utf8_line(line: bytes) -> str | BadLine:
    """One line of UTF-8 input as text, or a BadLine naming the first byte that is not UTF-8."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadLine(_bad_utf8(line[:exc.start], line[exc.start]))


def _utf16_lines(head: bytes, rest: Iterator[bytes], codec: str) -> Iterator[str | BadLine]:
    if codec == "utf-16":  # the byte-order mark tells the byte order; drop it
        codec = "utf-16-le" if head.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
        head = head[2:]
    decoder = codecs.getincrementaldecoder(codec)()
    pending = ""
    for chunk in chain([head], rest, [None]):  # None: the end, flush the decoder
        try:
            text = decoder.decode(chunk or b"", final=chunk is None)
        except UnicodeDecodeError as exc:
            # The text before the bad bytes is good: its complete lines still count.
            *lines, _ = (pending + exc.object[:exc.start].decode(codec)).split("\n")
            yield from (line + "\n" for line in lines)
            yield BadLine("not valid UTF-16; the input was not read past this line")
            return
        *lines, pending = (pending + text).split("\n")
        yield from (line + "\n" for line in lines)
    if pending:
        yield pending


__all__ = ["SAVE_AS_UTF8", "BadLine", "decode_lines", "decode_text", "decode_utf8_line",
           "sniff_encoding", "utf8_or_decoded_lines"]


def read_text_file(data: bytes, path: str | Path) -> str:
    """A configuration-like file's bytes as text; ConfigError naming the file and the encoding
    problem when they are not text."""
    try:
        return decode_text(data)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}", hint=SAVE_AS_UTF8) from None
