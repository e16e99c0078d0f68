"""Every value reaches a rendered file through an escape for its language, and the real
reader of that language reads back exactly the value: protobuf's text format (Triton's
config.pbtxt), YAML 1.1 and 1.2 readers, a POSIX shell, Go templates (see
tests/monitoring/test_rules.py for promtool)."""

from __future__ import annotations

import subprocess

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlform.render import comment, pbtxt_string, shell_quote, to_yaml

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
NASTY = ['a"b', "a\\b", "line\nbreak", "cr\rlf", "nul\0byte", "tab\t", "é✓", '"} input [ {']


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_pbtxt_strings_parse_back_in_protobuf(value: str) -> None:
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    config = text_format.Parse(f"name: {pbtxt_string(value)}", model_config_pb2.ModelConfig())
    assert config.name == value


def test_a_name_cannot_add_fields_to_a_triton_config() -> None:
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    for value in NASTY:
        text = f"name: {pbtxt_string(value)}\nmax_batch_size: 8"
        config = text_format.Parse(text, model_config_pb2.ModelConfig())
        assert (config.name, config.max_batch_size, len(config.input)) == (value, 8, 0)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(TEXT, TEXT, max_size=4))
def test_yaml_reads_back_in_pyyaml_and_ruamel(value: dict[str, str]) -> None:
    assert_reads_back({"labels": value})


def assert_reads_back(data: dict[str, object]) -> None:
    text = to_yaml(data) + "\nafter: 1\n"  # as templates use it: more YAML may follow
    expected = {**data, "after": 1}
    assert yaml.safe_load(text) == expected  # YAML 1.1 (Kubernetes tools, PyYAML)
    assert YAML(typ="safe", pure=True).load(text) == expected  # YAML 1.2 (ruamel, DVC)


def test_strings_either_yaml_would_read_as_numbers_stay_strings() -> None:
    for value in ["0o17", "+0o17", "-0o17", "0o1_7", "0x1F", "1e3", ".inf", "yes", "~", "1:20"]:
        assert_reads_back({"desc": value, "allowed": [value]})


def test_trailing_newlines_survive() -> None:
    for value in ["a\n", "a\n\n", "a\n\n\n"]:
        assert_reads_back({"desc": value})


def test_shell_words_stay_words() -> None:
    for value in [*NASTY[:3], "$(touch pwned)", "`id`", "; rm -rf /", "'", "-n"]:
        done = subprocess.run(
            ["sh", "-c", f"printf '%s' {shell_quote(value)}"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stdout == value


def test_comments_stay_on_one_line() -> None:
    assert comment("a\nkind: Secret\r\nb") == "a kind: Secret b"


def test_html_reports_escape_every_value() -> None:
    """Reports are rendered with autoescape, and no template marks a value safe: the only
    markup is the charts', whose labels (categories seen in traffic) are escaped."""
    from mlform.package_data import resource_dir
    from mlform.render import render
    from mlform.runtime import svg

    for template in resource_dir("templates").rglob("*.html.j2"):
        text = template.read_text()
        assert "|safe" not in text.replace(" ", ""), template
        assert "autoescape false" not in text, template
    chart = str(svg.bars(["<script>alert(1)</script>"], [1.0], unit="<b>"))
    assert "<script>" not in chart and "&lt;script&gt;" in chart and "&lt;b&gt;" in chart
    chart = str(svg.compare(['"><img src=x onerror=alert(1)>'], [0.5], [0.5]))
    assert "<img" not in chart
    evil = "<script>alert(1)</script>"
    result = {
        "monitor": "m", "status": "ok", "deployment": "d", "model": "x", "version": "v1",
        "ran_at": "now", "reference": "r", "alerts": [], "notes": [evil],
        "window": {"rows": 1, "source": evil, "span": "", "min_samples": 1, "corrupt_lines": 0},
    }  # fmt: skip
    html = render("monitoring/report.html.j2", result=result, charts={})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and evil not in html
