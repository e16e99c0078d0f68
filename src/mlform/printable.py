"""Text from specs, requests and commands, made safe to print on a terminal, in CI logs and
in pull request comments.

A spec value can hold a newline (a line of its own: a fake "Success!", a GitHub Actions
``::error`` command), a terminal escape (ESC, OSC 52 writes the clipboard), a C1 control
(U+0085 is a newline to some terminals) or a bidi override that shows a reviewer text in
another order. Each is shown escaped instead: ``\\n``, ``\\u001b``, ``\\u202e``.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 and C1 controls, DEL, zero-width and bidi controls, line/paragraph separators, BOM
_UNSAFE = "\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
_ANY = re.compile(f"[{_UNSAFE}]")
_BUT_TAB = re.compile(
    f"[{_UNSAFE.replace(chr(0) + '-' + chr(0x1F), chr(0) + '-' + chr(8) + chr(10) + '-' + chr(0x1F))}]"
)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char, f"\\u{ord(char):04x}")


def one_line(text: str) -> str:
    """``text`` on one line: every control and invisible formatting character escaped."""
    return _ANY.sub(_escaped, text)


def lines(text: str) -> str:
    """``text`` with its line breaks and tabs kept, every other such character escaped."""
    parts = text.replace("\r\n", "\n").split("\n")
    return "\n".join(_BUT_TAB.sub(_escaped, part) for part in parts)
