"""The fast YAML writer (render/emit.py) writes exactly PyYAML's bytes."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlform.render import dvc_literal, pyyaml_text, to_dvc_yaml, to_yaml

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

_text = st.one_of(
    st.sampled_from(
        [
            "yes",
            "No",
            "on",
            "null",
            "~",
            "0o17",
            "017",
            "1_000",
            "1:30",
            "2021-01-01",
            ".inf",
            "-",
            "- a",
            "a: b",
            "a #b",
            "a#b",
            "x:",
            "'q'",
            '"dq"',
            "",
            " lead",
            "trail ",
            "a\nb",
            "a\n",
            "a\n\n",
            "\n a",
            "tab\there",
            "é",
            "ü/ß",
            "${x}",
            "\\${x}",
            "*a",
            "&a",
            "!t",
            "%p",
            "@a",
            "`b",
            "?",
            "[a]",
            "{a}",
            "=",
            "<<",
            "a,b",
            "x" * 130,
            "y" * 1200,
            "._",
            "a  b",
            "|",
            ">",
            "a\r\nb",
            "\x85",
            "\u2028",
            "\ufeff",
            "NaN",
            "1e5",
            "0x1F",
            "data/${x}.csv",
            "${a}${b}",
            "$",
            "\\${",
            "k" * 126 + "${",
        ]
    ),
    st.text(alphabet=string.printable, max_size=12),
    st.text(max_size=6),
)
_scalar = st.one_of(
    _text,
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
_data = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_text | st.integers(), inner, max_size=4)
    ),
    max_leaves=25,
)


def expected(data: Any) -> str:
    text = pyyaml_text(data)
    return text[:-1] if text.endswith("\n") else text


@settings(max_examples=1500, deadline=None)
@given(st.dictionaries(_text, _data, min_size=1, max_size=5))
def test_writes_pyyamls_bytes(data: dict[Any, Any]) -> None:
    assert to_yaml(data) == expected(data)


@settings(max_examples=200, deadline=None)
@given(_data)
def test_any_document(data: Any) -> None:
    assert to_yaml(data) == expected(data)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(_text, _data, min_size=1, max_size=5))
def test_dvc_yaml_escapes_as_it_writes(data: dict[Any, Any]) -> None:
    """dvc.yaml's writer escapes DVC's ``${`` in keys and values as it writes: the bytes
    PyYAML writes of the escaped copy."""
    assert to_dvc_yaml(data) == expected(dvc_literal(data))
    assert "${" not in to_dvc_yaml(data).replace("\\${", "")


def test_every_rendered_yaml_file_of_the_examples() -> None:
    """What the examples' dvc.yaml, params.yaml, manifests and rules hold, re-read and
    written again: the same bytes from both writers."""
    files = [
        p
        for p in EXAMPLES.rglob("*.yaml")
        if p.name in ("dvc.yaml", "params.yaml") or "deploy" in p.parts or "rules" in p.parts
    ]
    assert len(files) >= 5
    for path in files:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document is not None:
                assert to_yaml(document) == expected(document), path
