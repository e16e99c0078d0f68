"""The derived-feature expression language: a tokenizer and a recursive-descent parser into
a small tree. No ``eval``, no Python ``ast``: only the tokens below exist, so there is no
way to spell an import, an attribute, a subscript, a string or a lambda.

Grammar (lowest precedence first; ``**`` binds tighter than unary minus, as in Python)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | "+" unary | power
    power   := atom ("**" ["-"] NUMBER)?
    atom    := NUMBER | NAME | `any name` | NAME "(" expr ("," expr)* ")" | "(" expr ")"

Every node keeps ``at``, the offset in the source where it starts, for located errors.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MAX_LENGTH = 1000  # characters of one expression
MAX_DEPTH = 32  # nesting of the tree (parentheses, calls, operators)
MAX_EXPONENT = 16  # |n| of `x ** n`: a bounded power, never `2 ** 1000000`

COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
# Words of Python (or of other languages) a user might try; each gets its own message.
REFUSED_WORDS = frozenset(
    {"lambda", "import", "from", "def", "class", "if", "else", "for", "in", "is", "while"}
    | {"yield", "await", "async", "global", "del", "with", "return", "exec", "eval"}
)
KEYWORDS = frozenset({"and", "or", "not"})

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t]+)
  | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<quoted>`[^`\n]*`)
  | (?P<op>\*\*|<=|>=|==|!=|[-+*/<>(),])
    """,
    re.VERBOSE,
)


class ExpressionError(Exception):
    """An expression that is not in the language; ``at`` is the offset of the problem.
    ``fits``: the expression is well formed, but a value does not fit where it is used
    (a datetime added to a number), which validate reports as E209 rather than E220."""

    def __init__(self, message: str, at: int, *, fits: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.at = at
        self.fits = fits


@dataclass(frozen=True)
class Number:
    value: float
    at: int = 0


@dataclass(frozen=True)
class Column:
    name: str
    at: int = 0


@dataclass(frozen=True)
class Op:
    """An operator or a function call: ``op`` is '+', '<', 'and', 'neg', 'where', 'log', ..."""

    op: str
    args: tuple[Node, ...]
    at: int = 0


Node = Number | Column | Op


@dataclass(frozen=True)
class Token:
    kind: str  # number, name, quoted, op, end; or bad (text: the message), the last one
    text: str
    at: int


def tokenize(source: str) -> list[Token]:
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(source):,} characters long; the limit is {MAX_LENGTH:,}",
            MAX_LENGTH,
        )
    tokens: list[Token] = []
    at = 0
    while at < len(source):
        match = _TOKEN.match(source, at)
        if match is None:  # an error only once the parser gets here: `__import__(...)`
            # is an unknown function before it is a string literal
            tokens.append(Token("bad", _unexpected(source, at), at))
            break
        kind = match.lastgroup or ""
        if kind == "name" and source.startswith(".", match.end()):
            tokens.append(Token(kind, match.group(), at))
            message = (
                "attribute access ('.') is not part of the expression language; "
                "quote a column name that holds a dot in backticks: `a.b`"
            )
            tokens.append(Token("bad", message, match.end()))
            break
        if kind != "space":
            tokens.append(Token(kind, match.group(), at))
        at = match.end()
    else:
        tokens.append(Token("end", "", len(source)))
    return tokens


def _unexpected(source: str, at: int) -> str:
    char = source[at]
    if char in "'\"":
        return "string literals are not part of the expression language; quote a column name in backticks: `mean radius`"
    if char == "[":
        return "subscripts ('[') are not part of the expression language"
    if char == "`":
        return "a backtick-quoted name is not closed on this line"
    if char == ".":
        return "attribute access ('.') is not part of the expression language"
    if char == "^":
        return "'^' is not an operator here; write a power as x ** 2"
    if char in "&|!~":
        return f"'{char}' is not an operator here; use and, or, not"
    if char == "=":
        return "'=' is not an operator here; compare with =="
    if char == "%":
        return "'%' is not an operator here"
    return f"unexpected character {char!r}"


def parse(source: str) -> Node:
    """The tree of ``source``, or an ExpressionError at the first problem."""
    if not source.strip():
        raise ExpressionError("the expression is empty", 0)
    parser = _Parser(tokenize(source))
    node = parser.expr(0)
    token = parser.peek()
    if token.kind != "end":
        raise ExpressionError(f"unexpected {_shown(token)} after a complete expression", token.at)
    return node


def _shown(token: Token) -> str:
    return "end of the expression" if token.kind == "end" else f"'{token.text}'"


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> Token:
        token = self.tokens[self.index]
        if token.kind == "bad":
            raise ExpressionError(token.text, token.at)
        return token

    def take(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def accept(self, *texts: str) -> Token | None:
        token = self.peek()
        if token.kind in ("op", "name") and token.text in texts:
            return self.take()
        return None

    def expect(self, text: str, after: str) -> Token:
        token = self.peek()
        if token.kind == "op" and token.text == text:
            return self.take()
        raise ExpressionError(f"expected '{text}' {after}, found {_shown(token)}", token.at)

    @staticmethod
    def deeper(depth: int, at: int) -> int:
        if depth >= MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels", at)
        return depth + 1

    def expr(self, depth: int) -> Node:
        depth = self.deeper(depth, self.peek().at)
        return self.binary(depth, 0)

    # (operators, next level) from the loosest binding to the tightest
    LEVELS: tuple[tuple[str, ...], ...] = (("or",), ("and",))

    def binary(self, depth: int, level: int) -> Node:
        if level == len(self.LEVELS):
            return self.negation(depth)
        left = self.binary(depth, level + 1)
        while (token := self.accept(*self.LEVELS[level])) is not None:
            depth = self.deeper(depth, token.at)
            left = Op(token.text, (left, self.binary(depth, level + 1)), left.at)
        return left

    def negation(self, depth: int) -> Node:
        token = self.accept("not")
        if token is not None:
            depth = self.deeper(depth, token.at)
            return Op("not", (self.negation(depth),), token.at)
        return self.compare(depth)

    def compare(self, depth: int) -> Node:
        left = self.sum(depth)
        token = self.accept(*COMPARISONS)
        if token is None:
            return left
        right = self.sum(self.deeper(depth, token.at))
        chained = self.peek()
        if chained.kind == "op" and chained.text in COMPARISONS:
            raise ExpressionError("comparisons do not chain; write (a < b) and (b < c)", chained.at)
        return Op(token.text, (left, right), left.at)

    def sum(self, depth: int) -> Node:
        left = self.product(depth)
        while (token := self.accept("+", "-")) is not None:
            depth = self.deeper(depth, token.at)
            left = Op(token.text, (left, self.product(depth)), left.at)
        return left

    def product(self, depth: int) -> Node:
        left = self.unary(depth)
        while (token := self.accept("*", "/")) is not None:
            depth = self.deeper(depth, token.at)
            left = Op(token.text, (left, self.unary(depth)), left.at)
        return left

    def unary(self, depth: int) -> Node:
        token = self.accept("-", "+")
        if token is None:
            return self.power(depth)
        operand = self.unary(self.deeper(depth, token.at))
        if token.text == "+":
            return operand
        if isinstance(operand, Number):
            return Number(-operand.value, token.at)
        return Op("neg", (operand,), token.at)

    def power(self, depth: int) -> Node:
        base = self.atom(depth)
        token = self.accept("**")
        if token is None:
            return base
        sign = -1.0 if self.accept("-") else 1.0
        exponent = self.peek()
        if exponent.kind != "number":
            raise ExpressionError(
                "the exponent of ** must be a number (the power is bounded), "
                f"found {_shown(exponent)}",
                exponent.at,
            )
        self.take()
        value = sign * _number(exponent)
        if abs(value) > MAX_EXPONENT:
            raise ExpressionError(
                f"the exponent {value:g} is out of range; powers go from "
                f"-{MAX_EXPONENT} to {MAX_EXPONENT}",
                exponent.at,
            )
        if self.peek().kind == "op" and self.peek().text == "**":
            raise ExpressionError("powers do not chain; add parentheses", self.peek().at)
        return Op("**", (base, Number(value, exponent.at)), base.at)

    def atom(self, depth: int) -> Node:
        token = self.take()
        if token.kind == "number":
            return Number(_number(token), token.at)
        if token.kind == "quoted":
            name = token.text[1:-1]
            if not name.strip():
                raise ExpressionError("an empty column name between backticks", token.at)
            return Column(name, token.at)
        if token.kind == "name":
            return self.name(token, depth)
        if token.kind == "op" and token.text == "(":
            inner = self.expr(depth)
            self.expect(")", "to close the '('")
            return inner
        raise ExpressionError(
            f"expected a number, a column or '(', found {_shown(token)}", token.at
        )

    def name(self, token: Token, depth: int) -> Node:
        word = token.text
        if word in KEYWORDS:
            raise ExpressionError(f"'{word}' needs a value on its left", token.at)
        if word in REFUSED_WORDS:
            hint = "; use where(condition, then, otherwise)" if word in ("if", "else") else ""
            raise ExpressionError(
                f"'{word}' is not part of the expression language{hint}", token.at
            )
        following = self.peek()
        if not (following.kind == "op" and following.text == "("):
            return Column(word, token.at)
        from mlform.expressions.functions import FUNCTIONS, function_names

        if word not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function '{word}'; the functions are {function_names()}", token.at
            )
        self.take()
        depth = self.deeper(depth, token.at)
        args = [self.expr(depth)]
        while self.accept(","):
            args.append(self.expr(depth))
        self.expect(")", f"to close {word}(")
        return Op(word, tuple(args), token.at)


def _number(token: Token) -> float:
    value = float(token.text)
    if not math.isfinite(value):
        raise ExpressionError(f"the number {token.text} is too large", token.at)
    return value
