"""CRM text made safe to print: control characters become visible escapes.

Names, subjects, stage labels and picklist values are typed by people and integrations;
printed raw, an escape sequence in one (``\\x1b]8;;…``, ``\\x1b[2J``) would be executed by the
terminal, a carriage return would overwrite the line before it, a newline would forge a log
line, and a bidirectional override would reorder what is shown. ``printable`` shows each of
them as its Python escape instead, so the reader sees what the CRM holds and the terminal
executes nothing.
"""

from __future__ import annotations

import re

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 and C1 control characters, DEL, the bidirectional controls and the Unicode line and
# paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character (C0, DEL, C1), bidirectional control and line or
    paragraph separator replaced by its escape: ``\\x1b``, ``\\n``, ``\\u202e``. Other text,
    rich markup brackets included, is left as it is."""
    return _UNSAFE.sub(_escape, text)


__all__ = ["printable"]
