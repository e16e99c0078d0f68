"""Regular expressions from specs, matched in linear time with RE2.

A Dataset column's ``regex`` comes from a pull request and runs on every row: with Python's
backtracking ``re``, ``^(a+)+$`` against a long row of ``a``s followed by ``b`` takes
exponential time. RE2 guarantees time linear in the row, and refuses what it cannot
guarantee (backreferences, lookaround) — at `validate`, with the reason.
"""

from __future__ import annotations

from typing import Any

from mlform.errors import UserError


class PatternInvalid(UserError):
    """A regex RE2 cannot compile."""


def compile_pattern(text: str) -> Any:
    """The compiled RE2 pattern (``fullmatch``, ``search``); :class:`PatternInvalid` if not."""
    import re2

    options = re2.Options()
    options.log_errors = False  # the error is ours to report, located
    try:
        return re2.compile(text, options=options)
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternInvalid(
            f"invalid regular expression: {reason} (patterns are RE2: no backreferences or "
            "lookaround, so matching takes time linear in the value)"
        ) from None
