"""Stage failures that name the spec document and field a person should look at."""

from __future__ import annotations

from dataclasses import dataclass

from mlform.errors import UserError
from mlform.loader import Loc


@dataclass(frozen=True)
class Problem:
    code: str
    kind: str  # the document kind the problem is located in, e.g. "Training"
    name: str
    loc: Loc
    message: str


class StageFailed(UserError):
    """A pipeline stage cannot complete: every problem is reported at its spec field."""

    def __init__(self, code: str, kind: str, name: str, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.problems = [Problem(code, kind, name, loc, message)]

    @classmethod
    def of(cls, problems: list[Problem]) -> StageFailed:
        first = problems[0]
        failure = cls(first.code, first.kind, first.name, first.loc, first.message)
        failure.problems = list(problems)
        return failure
