"""Case files drive the diagnostics tests: adding a case is adding a file.

A case is a YAML file under ``cases/invalid`` or ``cases/valid`` whose leading comment block
says which example it starts from, which file of it the rest of the case replaces, and the
exact diagnostic lines `mlform validate` must print (run from the project root)::

    # base: credit-risk
    # file: ml/training.yaml
    # expect:
    #   ml/training.yaml:11:7: error E104: Training 'credit-gbm': ...
    apiVersion: mlform/v1
    ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import Run, copy_example

CASES = Path(__file__).parent / "cases"


@dataclass
class Case:
    base: str
    file: str
    content: str
    expect: list[str] = field(default_factory=list)


def parse_case(path: Path) -> Case:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header: dict[str, str] = {}
    expect: list[str] = []
    in_expect = False
    body_start = 0
    for index, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = index
            break
        text = line[1:].rstrip("\n")
        if in_expect and text.startswith("   "):
            expect.append(text.strip())
            continue
        in_expect = False
        key, _, value = text.strip().partition(":")
        if key == "expect":
            in_expect = True
        else:
            header[key] = value.strip()
    else:
        body_start = len(lines)
    return Case(header["base"], header["file"], "".join(lines[body_start:]), expect)


def _cases(kind: str) -> list[Path]:
    return sorted((CASES / kind).glob("*.yaml"))


def _apply(case: Case, tmp_path: Path) -> Path:
    root = copy_example(case.base, tmp_path / case.base)
    target = root / case.file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(case.content, encoding="utf-8")
    return root


@pytest.mark.parametrize("path", _cases("invalid"), ids=lambda p: p.stem)
def test_invalid_case(path: Path, tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    case = parse_case(path)
    assert case.expect, f"{path.name} has no '# expect:' lines"
    result = run_cli("validate", cwd=_apply(case, tmp_path))
    printed = [
        line for line in result.out.splitlines() if ": error " in line or ": warning " in line
    ]
    assert printed == case.expect
    assert result.code == (1 if any(": error " in e for e in case.expect) else 0)
    assert "Traceback" not in result.out + result.err


@pytest.mark.parametrize("path", _cases("valid"), ids=lambda p: p.stem)
def test_valid_case(path: Path, tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    case = parse_case(path)
    result = run_cli("validate", cwd=_apply(case, tmp_path))
    printed = [
        line for line in result.out.splitlines() if ": error " in line or ": warning " in line
    ]
    assert printed == case.expect
    assert result.code == 0
