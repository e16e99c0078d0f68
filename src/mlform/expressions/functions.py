"""What the expression language's functions take and give, the kind check of a tree, and
the canonical text of a tree (what params.yaml and the fitted transformer carry).

Values have one of two kinds: ``number`` (float64; a comparison or a logical operator
gives 1.0 or 0.0) and ``datetime`` (a datetime column, seconds since 1970-01-01 UTC),
which only the date functions take.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlform.expressions.syntax import Column, ExpressionError, Node, Number, Op

NUMBER, DATETIME = "number", "datetime"


@dataclass(frozen=True)
class Function:
    params: tuple[str, ...]  # the kind of each argument
    doc: str
    literal: tuple[int, ...] = ()  # arguments that must be number literals


FUNCTIONS: dict[str, Function] = {
    "where": Function((NUMBER, NUMBER, NUMBER), "where(condition, then, otherwise)"),
    "clip": Function((NUMBER, NUMBER, NUMBER), "clip(x, low, high)", literal=(1, 2)),
    "log": Function((NUMBER,), "natural logarithm"),
    "abs": Function((NUMBER,), "absolute value"),
    "floor": Function((NUMBER,), "largest integer not above x"),
    "year": Function((DATETIME,), "year of a datetime"),
    "month": Function((DATETIME,), "month 1-12"),
    "day": Function((DATETIME,), "day of the month 1-31"),
    "weekday": Function((DATETIME,), "Monday 0 ... Sunday 6"),
    "hour": Function((DATETIME,), "hour 0-23"),
    "days_between": Function((DATETIME, DATETIME), "days_between(end, start), in days"),
}
BINARY = ("+", "-", "*", "/", "**", "<", "<=", ">", ">=", "==", "!=", "and", "or")


def function_names() -> str:
    return ", ".join(sorted(FUNCTIONS))


def columns(node: Node) -> list[Column]:
    """The column references of a tree, in reading order."""
    if isinstance(node, Column):
        return [node]
    if isinstance(node, Number):
        return []
    return [c for arg in node.args for c in columns(arg)]


def dataset_columns(derived: Mapping[str, str]) -> set[str]:
    """The names the derived features read that are not derived features themselves: the
    dataset columns they need as model inputs (an expression that does not parse reads
    none; validate reports it)."""
    from mlform.expressions.syntax import parse

    out: set[str] = set()
    for source in derived.values():
        try:
            tree = parse(source)
        except ExpressionError:
            continue
        out.update(c.name for c in columns(tree) if c.name not in derived)
    return out


def kind_of(node: Node, kinds: Mapping[str, str]) -> str:
    """The kind of ``node``, every column's kind given by ``kinds``; an ExpressionError
    where an argument is of the wrong kind."""
    if isinstance(node, Number):
        return NUMBER
    if isinstance(node, Column):
        return kinds[node.name]
    if node.op in FUNCTIONS:
        function = FUNCTIONS[node.op]
        if len(node.args) != len(function.params):
            count = len(function.params)
            raise ExpressionError(
                f"{node.op}() takes {count} argument{'s' if count > 1 else ''} "
                f"({function.doc}), got {len(node.args)}",
                node.at,
            )
        for i, (arg, want) in enumerate(zip(node.args, function.params, strict=True)):
            if i in function.literal and not isinstance(arg, Number):
                raise ExpressionError(f"the bounds of {node.op}() must be numbers", arg.at)
            _expect(arg, kinds, want, f"{node.op}()")
        if node.op == "clip":
            low, high = node.args[1], node.args[2]
            assert isinstance(low, Number) and isinstance(high, Number)
            if low.value > high.value:
                raise ExpressionError(
                    f"clip() low ({low.value:g}) is greater than high ({high.value:g})", low.at
                )
        return NUMBER
    for arg in node.args:
        _expect(arg, kinds, NUMBER, f"'{_symbol(node.op)}'")
    return NUMBER


def _expect(node: Node, kinds: Mapping[str, str], want: str, where: str) -> None:
    got = kind_of(node, kinds)
    if got == want:
        return
    what = (
        f"'{node.name}' is a datetime column" if isinstance(node, Column) else "this is a datetime"
    )
    if want == DATETIME:
        what = "this is a number"
        if isinstance(node, Column):
            what = f"'{node.name}' is not a datetime column"
        raise ExpressionError(f"{where} takes a datetime column; {what}", node.at, fits=False)
    raise ExpressionError(
        f"{where} takes numbers; {what}: use year(), month(), day(), weekday(), hour() "
        "or days_between()",
        node.at,
        fits=False,
    )


def _symbol(op: str) -> str:
    return "-" if op == "neg" else op


def inline(node: Node, defined: Mapping[str, Node]) -> Node:
    """``node`` with every reference to an earlier derived feature replaced by its tree,
    so a tree reads dataset columns only."""
    if isinstance(node, Column):
        return defined.get(node.name, node)
    if isinstance(node, Number):
        return node
    return Op(node.op, tuple(inline(a, defined) for a in node.args), node.at)


def to_source(node: Node) -> str:
    """The canonical text of a tree, fully parenthesized: it parses back to the same tree
    (offsets aside), whatever spacing or redundant parentheses the spec had."""
    if isinstance(node, Number):
        text = repr(float(node.value))
        return f"({text})" if node.value < 0 else text
    if isinstance(node, Column):
        name = node.name
        plain = name.isidentifier() and name.isascii() and name not in _RESERVED
        return name if plain else f"`{name}`"
    if node.op in FUNCTIONS:
        return f"{node.op}({', '.join(to_source(a) for a in node.args)})"
    if node.op == "neg":
        return f"-({to_source(node.args[0])})"
    if node.op == "not":
        return f"not ({to_source(node.args[0])})"
    left, right = node.args
    if node.op == "**" and isinstance(right, Number):  # the exponent stays a bare literal
        return f"({to_source(left)}) ** {float(right.value)!r}"
    return f"({to_source(left)}) {node.op} ({to_source(right)})"


def _reserved() -> frozenset[str]:
    from mlform.expressions.syntax import KEYWORDS, REFUSED_WORDS

    return KEYWORDS | REFUSED_WORDS


_RESERVED = _reserved()
