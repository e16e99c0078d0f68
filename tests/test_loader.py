"""The YAML loader: plain data, exact positions, and refusals of what specs must not hold."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mlform import loader
from mlform.loader import load_file, parse


def one(text: str) -> loader.RawDocument:
    docs, problems = parse(text, "f.yaml")
    assert problems == []
    assert len(docs) == 1
    return docs[0]


def codes(text: str) -> list[tuple[str, int, int, str]]:
    _, problems = parse(text, "f.yaml")
    return [(d.code, d.line, d.column, d.summary) for d in problems]


def test_positions_of_keys_and_values() -> None:
    doc = one("a:\n  b: [1, two]\n  c:\n    - {d: 3}\n")
    assert doc.data == {"a": {"b": [1, "two"], "c": [{"d": 3}]}}
    assert doc.key_mark(("a", "b")) == (2, 3)
    assert doc.mark(("a", "b", 1)) == (2, 10)
    assert doc.mark(("a", "c", 0, "d")) == (4, 11)
    assert doc.key_mark(("a", "c", 0, "d")) == (4, 8)
    # an unknown path falls back to its nearest located ancestor
    assert doc.mark(("a", "c", 0, "missing")) == (4, 7)


def test_yaml_1_2_core_schema() -> None:
    doc = one(
        "s: [yes, no, on, off, y, n]\nb: [true, False]\nn: [~, null, Null]\n"
        "i: [1, -2, 0o17, 0x1f]\nf: [1.5, 1e3, .inf, -.inf]\nq: ['1', \"true\"]\nd: 2024-01-01\n"
    )
    assert doc.data["s"] == ["yes", "no", "on", "off", "y", "n"]
    assert doc.data["b"] == [True, False]
    assert doc.data["n"] == [None, None, None]
    assert doc.data["i"] == [1, -2, 15, 31]
    assert doc.data["f"][:2] == [1.5, 1000.0] and doc.data["f"][2:] == [math.inf, -math.inf]
    assert doc.data["q"] == ["1", "true"]
    assert doc.data["d"] == "2024-01-01"  # no timestamps: a string, as JSON Schema sees it


def test_explicit_core_tags() -> None:
    assert one("a: !!str 12\nb: !!float 3\nc: !!int '7'\n").data == {"a": "12", "b": 3.0, "c": 7}
    assert codes("a: !!int x\n") == [("E001", 1, 4, "'x' is not a valid !!int")]


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['true']\n",
        "a: !!python/name:os.system\n",
        "a: !custom 1\n",
        "a: !!binary aGk=\n",
        "a: !!set {x}\n",
        "a: !!omap [x: 1]\n",
    ],
)
def test_non_core_tags_are_refused(text: str, tmp_path: Path) -> None:
    (problem,) = codes(text)
    assert problem[0] == "E008"
    assert "specs are plain data" in problem[3]


def test_duplicate_keys_are_errors_and_reading_goes_on() -> None:
    docs, problems = parse("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [(d.code, d.line, d.column) for d in problems] == [("E002", 3, 1)]
    assert problems[0].summary == "duplicate key 'a' (first defined at line 1)"
    assert docs[0].data == {"a": 1, "b": 2}


def test_merge_keys_and_aliases() -> None:
    doc = one("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\nlist: [*b]\n")
    assert doc.data["derived"] == {"x": 1, "y": 3}
    assert doc.data["list"] == [{"x": 1, "y": 2}]


def test_aliases_are_local_to_their_document() -> None:
    assert codes("a: &x 1\n---\nb: *x\n") == [
        ("E001", 3, 4, "unknown alias '*x' (anchors are local to their document)")
    ]


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    (problem,) = codes("\n".join(lines) + "\n")
    assert problem[0] == "E005"
    assert "billion laughs" in problem[3]


def test_deep_nesting_is_refused() -> None:
    (problem,) = codes("a: " + "[" * 100 + "]" * 100 + "\n")
    assert problem[:1] == ("E009",)


def test_tabs_get_a_human_message() -> None:
    assert codes("a:\n\tb: 1\n") == [
        ("E001", 2, 1, "tab character in indentation: YAML indents with spaces only")
    ]


def test_syntax_error_is_located() -> None:
    assert codes("a: [1, 2\nb: 3\n")[0][:3] == ("E001", 2, 2)


def test_empty_documents_are_skipped() -> None:
    docs, problems = parse("---\na: 1\n---\n---\n# just a comment\n", "f.yaml")
    assert problems == [] and [d.data for d in docs] == [{"a": 1}]
    assert parse("", "f.yaml") == ([], [])


def test_complex_keys_are_refused() -> None:
    assert codes("? [a, b]\n: 1\n")[0][0] == "E001"


def test_file_size_bound(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * (loader.MAX_FILE_BYTES + 1) + "\n")
    _, problems = load_file(path, "big.yaml")
    assert [p.code for p in problems] == ["E004"]
    assert "spec files are limited to 1024 KiB" in problems[0].summary


def test_non_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: ok\ncity: Zürich\n".encode("latin-1"))
    _, problems = load_file(path, "latin1.yaml")
    assert [(p.code, p.line, p.column, p.summary) for p in problems] == [
        ("E003", 2, 8, "the file is not UTF-8 (byte 0xfc)")
    ]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    docs, problems = load_file(path, "bom.yaml")
    assert problems == [] and docs[0].data == {"a": 1}


def test_unreadable_file(tmp_path: Path) -> None:
    _, problems = load_file(tmp_path / "missing.yaml", "missing.yaml")
    assert [p.code for p in problems] == ["E010"]
