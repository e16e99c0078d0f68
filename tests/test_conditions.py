"""A cleaning rule's condition is parsed into a tree of known nodes, never evaluated as code:
anything outside the small grammar is refused at the character it starts."""

from __future__ import annotations

import pytest

from mlform import conditions as C


def test_precedence_not_then_and_then_or() -> None:
    tree = C.parse("a > 1 or not b is missing and `mean radius` <= -2.5e1")
    assert tree == C.Or(
        (
            C.Compare(C.Column("a", 0), ">", C.Literal(1.0, 4)),
            C.And(
                (
                    C.Not(C.Missing(C.Column("b", 13), False)),
                    C.Compare(C.Column("mean radius", 30), "<=", C.Literal(-25.0, 47)),
                )
            ),
        )
    )


def test_literals_columns_and_parentheses() -> None:
    text = "(x == 'a b' or y != \"c\") and flag == true and d is not missing and p < q"
    tree = C.parse(text)
    assert [c.name for c in C.columns(tree)] == ["x", "y", "flag", "d", "p", "q"]
    assert isinstance(tree, C.And) and isinstance(tree.operands[0], C.Or)
    compare = tree.operands[1]
    assert isinstance(compare, C.Compare) and compare.other == C.Literal(True, text.index("true"))
    last = tree.operands[3]
    assert isinstance(last, C.Compare) and last.other == C.Column("q", len(text) - 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "__import__('os').system('id')",
            "invalid condition: expected a comparison (==, !=, <, <=, >, >=) or 'is missing' "
            "after column '__import__', got '(' at character 11 of \"__import__('os').system('id')\"",
        ),
        (
            "age.real > 1",
            "invalid condition: unexpected character '.' at character 4 of 'age.real > 1'",
        ),
        (
            "age > 1; drop",
            "invalid condition: unexpected character ';' at character 8 of 'age > 1; drop'",
        ),
        (
            "age ** 2 > 1",
            "invalid condition: unexpected character '*' at character 5 of 'age ** 2 > 1'",
        ),
        (
            "age > 1e999",
            "invalid condition: number 1e999 is out of range at character 7 of 'age > 1e999'",
        ),
        (
            "age >",
            "invalid condition: expected a column name, got the end of the condition at character 6 of 'age >'",
        ),
        (
            "age is here",
            "invalid condition: expected 'missing' after 'is', got 'here' at character 8 of 'age is here'",
        ),
        (
            "(age > 1",
            "invalid condition: expected ')', got the end of the condition at character 9 of '(age > 1'",
        ),
        (
            "age > 1 age < 2",
            "invalid condition: expected 'and', 'or' or the end, got 'age' at character 9 of 'age > 1 age < 2'",
        ),
        (
            "and > 1",
            "invalid condition: expected a column name, got 'and' at character 1 of 'and > 1'",
        ),
        (
            "`` > 1",
            "invalid condition: unexpected character '`' at character 1 of '`` > 1'",
        ),
    ],
)
def test_outside_the_grammar_is_refused_where_it_starts(text: str, message: str) -> None:
    with pytest.raises(C.ConditionInvalid) as caught:
        C.parse(text)
    assert C.invalid_message(text, caught.value) == message


def test_deep_nesting_long_text_and_many_tests_are_refused() -> None:
    deep = "(" * 30 + "a > 1" + ")" * 30
    with pytest.raises(C.ConditionInvalid, match="nested deeper than 20 levels") as caught:
        C.parse(deep)
    assert caught.value.position == 20
    with pytest.raises(C.ConditionInvalid, match="nested deeper than 20 levels"):
        C.parse("not " * 25 + "a > 1")
    with pytest.raises(C.ConditionInvalid, match="more than 100 tests"):
        C.parse(" or ".join(["a > 1"] * 101))
    with pytest.raises(C.ConditionInvalid, match="at most 2000 characters"):
        C.parse("a > 1 or " * 300 + "a > 1")
    assert C.parse("(" * 19 + "a > 1" + ")" * 19) == C.Compare(
        C.Column("a", 19), ">", C.Literal(1.0, 23)
    )


def test_comparisons_must_fit_the_dtypes() -> None:
    dtypes = {
        "age": "int",
        "sex": "category",
        "when": "datetime",
        "ok": "bool",
        "income": "float",
    }
    text = (
        "age > 'x' or sex < 'f' or when > 5 or when < '2024-01-01' or ok == 1 "
        "or age < income or sex == age or unknown > 1 or sex == 'm'"
    )
    tree = C.parse(text)
    assert C.type_problems(tree, dtypes) == [
        (6, "'age' is int; compare it with a number, not the text 'x'"),
        (13, "'<' orders values; 'sex' is category, which takes only == and !="),
        (
            text.index("5"),
            "'when' is datetime; compare it with an ISO date in quotes like '2024-01-31', not the number 5",
        ),
        (text.index("1 "), "'ok' is bool; compare it with true or false, not the number 1"),
        (text.index("age or"), "'sex' is category and 'age' is int; they cannot be compared"),
    ]
