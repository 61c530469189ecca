"""Masking the secrets a text may carry before it is shown: the password of a URL.

A state URL such as ``postgresql://user:PASS@host/db`` holds its password in clear. Every
output path (the command's result, error lines, log lines) passes its text through
``mask_secrets``, so the password never reaches a terminal, a log file or a run record.
"""

from __future__ import annotations

import re

MASK = "***"
# scheme://user:password@ — greedy up to the last "@" of the word, so a password that holds an
# unescaped "@" is masked whole (masking a little too much is the safe side).
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\"]*):"
                           r"(?P<password>[^\s'\"]*)@")


def mask_secrets(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` URL in it replaced by
    ``***``; everything else is left as it is."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@", text)


__all__ = ["MASK", "mask_secrets"]
