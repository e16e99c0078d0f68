"""Kubernetes label selectors (``kubectl get -l``) over the specs' ``metadata.labels``.

The grammar is kubectl's equality- and set-based one; requirements are joined by commas
and all must hold::

    team=risk   team==risk   team!=risk   tier in (gold,silver)   tier notin (bronze)
    team        !team        team=risk,tier notin (bronze)

As in Kubernetes, ``!=`` and ``notin`` also match specs without the label. Keys are label
keys as specs write them (letters, digits, ``_ . / -``); values the same characters, or
empty. A selector that does not parse is refused with the column of the problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from mlform.errors import UserError
from mlform.printable import one_line

_WORD = re.compile(r"[^\s!=,()]+")
_KEY = re.compile(r"^[A-Za-z0-9_./-]{1,63}$")  # mlform's label keys (spec/base.py)
_VALUE = re.compile(r"^[A-Za-z0-9_./-]{0,63}$")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=", "notin"


@dataclass(frozen=True)
class Selector:
    text: str
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "!", "=", "==", "!=", ",", "(", ")", "end"
    text: str
    column: int  # 1-based


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif text.startswith(("==", "!="), i):
            out.append(_Token(text[i : i + 2], text[i : i + 2], i + 1))
            i += 2
        elif char in "!=,()":
            out.append(_Token(char, char, i + 1))
            i += 1
        else:
            word = _WORD.match(text, i)
            assert word is not None  # any other character starts a word
            out.append(_Token("word", word.group(), i + 1))
            i = word.end()
    out.append(_Token("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, token: _Token, why: str) -> UserError:
        shown = one_line(self.text)
        return UserError(
            f"invalid --selector at column {token.column}: {why}\n"
            f"  {shown}\n  {' ' * (token.column - 1)}^",
            hint="A selector is kubectl's: key=value, key!=value, key in (a,b), "
            "key notin (a,b), key, !key; commas join requirements that must all hold.",
        )

    def found(self, token: _Token) -> str:
        return "the end of the selector" if token.kind == "end" else f"'{one_line(token.text)}'"

    def key(self) -> str:
        token = self.take()
        if token.kind != "word":
            raise self.fail(token, f"expected a label key, found {self.found(token)}")
        if not _KEY.match(token.text):
            raise self.fail(
                token,
                f"'{one_line(token.text)}' is not a label key (letters, digits, '_', '.', "
                "'/', '-'; at most 63)",
            )
        return token.text

    def value(self) -> str:
        token = self.peek()
        if token.kind != "word":
            return ""  # kubectl: `team=` selects the empty value
        self.take()
        if not _VALUE.match(token.text):
            raise self.fail(
                token,
                f"'{one_line(token.text)}' is not a label value (letters, digits, '_', '.', "
                "'/', '-'; at most 63)",
            )
        return token.text

    def values(self) -> tuple[str, ...]:
        token = self.take()
        if token.kind != "(":
            raise self.fail(token, f"expected '(' after in/notin, found {self.found(token)}")
        out: list[str] = []
        while True:
            token = self.peek()
            if token.kind != "word":
                raise self.fail(token, f"expected a value, found {self.found(token)}")
            out.append(self.value())
            token = self.take()
            if token.kind == ")":
                return tuple(out)
            if token.kind != ",":
                raise self.fail(token, f"expected ',' or ')', found {self.found(token)}")

    def requirement(self) -> Requirement:
        if self.peek().kind == "!":
            self.take()
            return Requirement(self.key(), "!")
        key = self.key()
        token = self.peek()
        if token.kind in ("=", "==", "!="):
            self.take()
            return Requirement(key, "!=" if token.kind == "!=" else "=", (self.value(),))
        if token.kind == "word" and token.text in ("in", "notin"):
            self.take()
            return Requirement(key, token.text, self.values())
        if token.kind in (",", "end"):
            return Requirement(key, "exists")
        raise self.fail(
            token, f"expected =, ==, !=, in, notin, ',' or the end, found {self.found(token)}"
        )

    def selector(self) -> Selector:
        if self.peek().kind == "end":
            raise self.fail(self.peek(), "the selector is empty")
        requirements = [self.requirement()]
        while True:
            token = self.take()
            if token.kind == "end":
                return Selector(self.text, tuple(requirements))
            if token.kind != ",":
                raise self.fail(token, f"expected ',' or the end, found {self.found(token)}")
            requirements.append(self.requirement())


def parse(text: str) -> Selector:
    """The selector ``text``; a UserError pointing at the column of what does not parse."""
    return _Parser(text).selector()
