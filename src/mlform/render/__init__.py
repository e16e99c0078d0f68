"""The only Jinja2 import: a sandboxed environment with strict undefined and safe filters.

User values never reach a rendered file by string pasting: they enter YAML through
``to_yaml`` (a real YAML emitter) and shell commands through ``shell_quote``.
"""

from __future__ import annotations

import json
import re
import shlex
from functools import lru_cache
from typing import Any, TypeVar, cast

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from mlform.package_data import resource_dir

T = TypeVar("T")

# Strings a YAML 1.1 reader (PyYAML, go-yaml in Kubernetes tools) or a 1.2 reader (ruamel,
# which reads 0o17 as 15) would take for something else: always quoted, so every reader
# sees the same value.
_YAML11_AMBIGUOUS = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|true|True|TRUE|false|False|FALSE"
    r"|null|Null|NULL|~|[-+]?[0-9_]+(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|[-+]?0b[01_]+"
    r"|[-+]?0[0-7_]+|[-+]?0o[0-7_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|=)$"
)


def _represent_str(representer: Any, value: str) -> Any:
    style = "'" if _YAML11_AMBIGUOUS.match(value) else None
    if "\n" in value:
        style = "|"
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style=style)


@lru_cache(maxsize=1)
def _dumper() -> type:
    import yaml

    # libyaml's C emitter when PyYAML has it (it does in every wheel): 6x faster than a
    # pure-Python emitter on a 200-model pipeline, which `plan` renders every time.
    base: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[misc]
        """Quotes YAML 1.1-ambiguous strings and writes no anchors (a value used twice is
        written twice: rendered files are read by people and by tools without aliases).
        Floats keep a dot (``1.0e-06``), so YAML 1.1 readers see numbers too."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    Dumper.add_representer(str, _represent_str)
    return Dumper


def pyyaml_text(data: Any) -> str:
    """PyYAML's block-style YAML of plain data, in insertion order, with its final newline
    and without a document-end marker."""
    import yaml

    text: str = yaml.dump(
        data,
        Dumper=_dumper(),
        sort_keys=False,  # keep our (deterministic) order
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
    )
    # PyYAML ends a document whose last scalar keeps its trailing newlines ("|+") with
    # "...": more YAML may follow in the template, so the marker goes.
    return text.removesuffix("...\n") if text.endswith("\n...\n") else text


def to_yaml(data: Any) -> str:
    """Block-style YAML of plain data, in insertion order, without its final newline (the
    template puts one after it). The bytes are PyYAML's (``pyyaml_text``), written faster
    (``emit``)."""
    from mlform.render.emit import block_yaml

    text = block_yaml(data, pyyaml_text, _YAML11_AMBIGUOUS)
    return text[:-1] if text.endswith("\n") else text  # one: a block scalar may end in more


def dvc_literal(data: T) -> T:
    """``data`` with every ``${`` in its strings escaped as ``\\${``: DVC interpolates
    ``${name}`` in dvc.yaml from params.yaml, so a Dataset path ``data/${x}.csv`` would be
    another file. DVC reads ``\\${`` back as ``${``. What has nothing to escape is not
    copied."""
    if isinstance(data, str):
        return cast(T, _literal(data))
    if isinstance(data, list):
        items = [dvc_literal(item) for item in data]
        same = all(new is old for new, old in zip(items, data, strict=True))
        return data if same else cast(T, items)
    if isinstance(data, dict):
        pairs = [(dvc_literal(k), dvc_literal(v)) for k, v in data.items()]
        same = all(k is o and v is data[o] for (k, v), o in zip(pairs, data, strict=True))
        return data if same else cast(T, dict(pairs))
    return data


def _literal(text: str) -> str:
    return text.replace("${", "\\${") if "${" in text else text


def to_dvc_yaml(data: Any) -> str:
    """``to_yaml`` of ``dvc_literal(data)``, escaping as it writes (no copy of the data)."""
    from mlform.render.emit import block_yaml

    def fallback(entry: Any) -> str:
        return pyyaml_text(dvc_literal(entry))

    text = block_yaml(data, fallback, _YAML11_AMBIGUOUS, _literal)
    return text[:-1] if text.endswith("\n") else text


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False)


def shell_quote(value: Any) -> str:
    return shlex.quote(str(value))


def shell_join(words: list[str]) -> str:
    """A command line whose every word is quoted for a POSIX shell."""
    return " ".join(shlex.quote(w) for w in words)


def pbtxt_string(value: Any) -> str:
    """A protobuf text-format string literal: quotes and backslashes escaped, every control
    character (newline, CR, NUL, …) as an octal escape, other text as UTF-8."""
    out = []
    for char in str(value):
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):03o}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def comment(value: Any) -> str:
    """A one-line comment body: newlines, which would end the comment, are flattened."""
    return " ".join(str(value).split())


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(resource_dir("templates"))),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        to_yaml=to_yaml,
        to_dvc_yaml=to_dvc_yaml,
        to_json=to_json,
        shell_quote=shell_quote,
        comment=comment,
        pbtxt_string=pbtxt_string,
    )
    return env


@lru_cache(maxsize=1)
def html_environment() -> SandboxedEnvironment:
    """For reports: every value is HTML-escaped unless it is markup we built (charts)."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(resource_dir("templates"))),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(to_json=to_json, number=number)
    return env


def number(value: Any, digits: int = 4) -> str:
    """A number for people: 4 significant digits, blanks for missing values."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.{digits}g}" if isinstance(value, float) else f"{value:,}"


def render(template: str, **context: Any) -> str:
    """Render a template under ``templates/`` with a context of plain data."""
    env = html_environment() if template.endswith(".html.j2") else environment()
    return env.get_template(template).render(**context)
