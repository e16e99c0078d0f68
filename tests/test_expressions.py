"""The expression language's parser: the canonical text parses back to the same tree, and
the bounds hold whatever the input (no recursion error, no huge number, no long input)."""

from __future__ import annotations

import pytest

from mlform.expressions import MAX_DEPTH, ExpressionError, parse, to_source

SOURCES = [
    "debt / income",
    "`mean radius` * 2 ** 2 - -x",
    "where(age < 30, 0, where(age < 50, 1, 2))",
    "not a and b or c != 1.5e3",
    "-x ** -0.5",
    "clip(`a.b`, 0, 1) + abs(floor(log(x)))",
    "days_between(end, start) >= 7",
    "`and` + `lambda`",
]


def _strip(node: object) -> object:
    """A tree without its offsets."""
    if hasattr(node, "args"):
        return (node.op, tuple(_strip(a) for a in node.args))  # type: ignore[attr-defined]
    return getattr(node, "name", None) or getattr(node, "value", None)


@pytest.mark.parametrize("source", SOURCES)
def test_the_canonical_text_parses_back_to_the_same_tree(source: str) -> None:
    tree = parse(source)
    assert _strip(parse(to_source(tree))) == _strip(tree)
    assert to_source(parse(to_source(tree))) == to_source(tree)


@pytest.mark.parametrize(
    ("source", "at", "message"),
    [
        (
            "(" * 10_000 + "x" + ")" * 10_000,
            1000,
            "the expression is 20,001 characters long; the limit is 1,000",
        ),
        (
            "(" * 400 + "x" + ")" * 400,
            MAX_DEPTH,
            f"the expression nests deeper than {MAX_DEPTH} levels",
        ),
        (
            "- " * 400 + "x",
            2 * (MAX_DEPTH - 1),
            f"the expression nests deeper than {MAX_DEPTH} levels",
        ),
        ("x ** 17", 5, "the exponent 17 is out of range; powers go from -16 to 16"),
        ("x ** 2 ** 2", 7, "powers do not chain; add parentheses"),
        ("9" * 400, 0, f"the number {'9' * 400} is too large"),
        ("", 0, "the expression is empty"),
        ("x = 1", 2, "'=' is not an operator here; compare with =="),
        ("a if b else c", 2, "unexpected 'if' after a complete expression"),
    ],
)
def test_bounds_and_refusals(source: str, at: int, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert (caught.value.at, caught.value.message) == (at, message)
