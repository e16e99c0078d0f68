"""Row conditions from specs (a cleaning rule's ``drop_where``), parsed into a tree.

A condition comes from a pull request and runs on every row, so it is never given to
``eval``: it is tokenized and parsed here into a few known node types, and anything else is
refused with the character it starts at. The grammar is deliberately small::

    condition := or
    or        := and ("or" and)*
    and       := not ("and" not)*
    not       := "not" not | "(" or ")" | test
    test      := column ("==" | "!=" | "<" | "<=" | ">" | ">=") (literal | column)
               | column "is" ["not"] "missing"
    column    := name | `any name`          (backquotes for names with spaces)
    literal   := number | 'text' | "text" | true | false

A comparison with a missing value on either side is false (``!=`` too), so
``not (age < 18)`` holds for a missing age; say ``age is missing`` to mean it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mlform.errors import UserError

MAX_LENGTH = 2000  # characters
MAX_DEPTH = 20  # nested parentheses and nots
MAX_TESTS = 100  # comparisons and missing tests
OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = ("and", "or", "not", "is", "missing", "true", "false")
ORDERED_DTYPES = ("int", "float", "datetime")

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<quoted>`[^`\n]+`)
      | (?P<string>'[^'\n]*'|"[^"\n]*")
      | (?P<op>==|!=|<=|>=|<|>)
      | (?P<paren>[()])""",
    re.VERBOSE,
)


class ConditionInvalid(UserError):
    """A condition outside the grammar; ``position`` is the 0-based character it starts at."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Column:
    name: str
    position: int


@dataclass(frozen=True)
class Literal:
    value: str | float | bool
    position: int


@dataclass(frozen=True)
class Compare:
    column: Column
    op: str
    other: Column | Literal


@dataclass(frozen=True)
class Missing:
    column: Column
    negated: bool  # ``is not missing``


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Compare | Missing | Not | And | Or


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, quoted, string, op, paren, end
    text: str
    position: int


def _tokens(text: str) -> Iterator[_Token]:
    """The tokens of ``text``, read as the parser asks: the first problem in reading order
    is the one reported."""
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise ConditionInvalid(f"unexpected character {text[at]!r}", at)
        kind = match.lastgroup or ""
        if kind != "space":
            yield _Token(kind, match.group(), at)
        at = match.end()
    while True:
        yield _Token("end", "", len(text))


def parse(text: str) -> Node:
    """The tree of ``text``; :class:`ConditionInvalid` at the first thing outside the grammar."""
    if len(text) > MAX_LENGTH:
        raise ConditionInvalid(f"a condition is at most {MAX_LENGTH} characters", MAX_LENGTH)
    parser = _Parser(_tokens(text))
    tree = parser.disjunction(0)
    end = parser.peek()
    if end.kind != "end":
        raise ConditionInvalid(f"expected 'and', 'or' or the end, got {_shown(end)}", end.position)
    return tree


def invalid_message(text: str, error: ConditionInvalid) -> str:
    """How a spec diagnostic shows ``error``: the reason, the character and the text."""
    return f"invalid condition: {error} at character {error.position + 1} of {text!r}"


def _shown(token: _Token) -> str:
    return "the end of the condition" if token.kind == "end" else repr(token.text)


class _Parser:
    def __init__(self, tokens: Iterator[_Token]) -> None:
        self.tokens = tokens
        self.next: _Token | None = None
        self.tests = 0

    def peek(self) -> _Token:
        if self.next is None:
            self.next = next(self.tokens)
        return self.next

    def take(self) -> _Token:
        token = self.peek()
        self.next = None
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "name" and token.text == word:
            self.take()
            return True
        return False

    def disjunction(self, depth: int) -> Node:
        operands = [self.conjunction(depth)]
        while self.keyword("or"):
            operands.append(self.conjunction(depth))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self, depth: int) -> Node:
        operands = [self.negation(depth)]
        while self.keyword("and"):
            operands.append(self.negation(depth))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def negation(self, depth: int) -> Node:
        token = self.peek()
        if depth >= MAX_DEPTH:
            raise ConditionInvalid(f"nested deeper than {MAX_DEPTH} levels", token.position)
        if self.keyword("not"):
            return Not(self.negation(depth + 1))
        if token.kind == "paren" and token.text == "(":
            self.take()
            inner = self.disjunction(depth + 1)
            close = self.take()
            if close.text != ")":
                raise ConditionInvalid(f"expected ')', got {_shown(close)}", close.position)
            return inner
        return self.test()

    def test(self) -> Node:
        column = self.column()
        self.tests += 1
        if self.tests > MAX_TESTS:
            raise ConditionInvalid(f"more than {MAX_TESTS} tests", column.position)
        if self.keyword("is"):
            negated = self.keyword("not")
            if not self.keyword("missing"):
                token = self.peek()
                raise ConditionInvalid(
                    f"expected 'missing' after 'is{' not' if negated else ''}', got {_shown(token)}",
                    token.position,
                )
            return Missing(column, negated)
        op = self.take()
        if op.kind != "op":
            raise ConditionInvalid(
                f"expected a comparison (==, !=, <, <=, >, >=) or 'is missing' after column "
                f"'{column.name}', got {_shown(op)}",
                op.position,
            )
        return Compare(column, op.text, self.operand())

    def column(self) -> Column:
        token = self.take()
        if token.kind == "quoted":
            return Column(token.text[1:-1], token.position)
        if token.kind == "name" and token.text not in KEYWORDS:
            return Column(token.text, token.position)
        raise ConditionInvalid(f"expected a column name, got {_shown(token)}", token.position)

    def operand(self) -> Column | Literal:
        token = self.peek()
        if token.kind == "number":
            self.take()
            value = float(token.text)
            if not math.isfinite(value):
                raise ConditionInvalid(f"number {token.text} is out of range", token.position)
            return Literal(value, token.position)
        if token.kind == "string":
            self.take()
            return Literal(token.text[1:-1], token.position)
        if token.kind == "name" and token.text in ("true", "false"):
            self.take()
            return Literal(token.text == "true", token.position)
        return self.column()


def nodes(tree: Node) -> Iterator[Compare | Missing]:
    """The tests of ``tree``, left to right."""
    if isinstance(tree, Compare | Missing):
        yield tree
    elif isinstance(tree, Not):
        yield from nodes(tree.operand)
    else:
        for operand in tree.operands:
            yield from nodes(operand)


def columns(tree: Node) -> list[Column]:
    """Every column reference of ``tree``, left to right."""
    out = []
    for test in nodes(tree):
        out.append(test.column)
        if isinstance(test, Compare) and isinstance(test.other, Column):
            out.append(test.other)
    return out


def type_problems(tree: Node, dtypes: Mapping[str, str]) -> list[tuple[int, str]]:
    """(position, message) of each comparison that does not fit its columns' dtypes
    (``dtypes``: column → dtype; unknown columns are skipped, reported by the caller)."""
    out = []
    for test in nodes(tree):
        if not isinstance(test, Compare) or test.column.name not in dtypes:
            continue
        name, dtype = test.column.name, dtypes[test.column.name]
        other = test.other
        if isinstance(other, Column):
            if other.name not in dtypes:
                continue
            theirs = dtypes[other.name]
            if _family(dtype) != _family(theirs):
                out.append(
                    (
                        other.position,
                        f"'{name}' is {dtype} and '{other.name}' is {theirs}; they cannot be compared",
                    )
                )
                continue
        elif (problem := _literal_problem(name, dtype, other)) is not None:
            out.append((other.position, problem))
            continue
        if test.op not in ("==", "!=") and dtype not in ORDERED_DTYPES:
            out.append(
                (
                    test.column.position,
                    f"'{test.op}' orders values; '{name}' is {dtype}, which takes only == and !=",
                )
            )
    return out


def _family(dtype: str) -> str:
    return {"int": "number", "float": "number", "category": "text", "string": "text"}.get(
        dtype, dtype
    )


def _literal_problem(name: str, dtype: str, literal: Literal) -> str | None:
    value = literal.value
    if dtype in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, float):
            return f"'{name}' is {dtype}; compare it with a number, not {_literal(value)}"
    elif dtype == "bool":
        if not isinstance(value, bool):
            return f"'{name}' is bool; compare it with true or false, not {_literal(value)}"
    elif dtype == "datetime":
        if not isinstance(value, str) or not _is_timestamp(value):
            return f"'{name}' is datetime; compare it with an ISO date in quotes like '2024-01-31', not {_literal(value)}"
    elif not isinstance(value, str):
        return f"'{name}' is {dtype}; compare it with text in quotes, not {_literal(value)}"
    return None


def _literal(value: str | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"the number {value:g}"
    return f"the text {value!r}"


def _is_timestamp(text: str) -> bool:
    from datetime import datetime

    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
