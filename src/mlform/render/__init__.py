"""The only Jinja2 import: a sandboxed environment with strict undefined and safe filters.

User values never reach a rendered file by string pasting: they enter YAML through
``to_yaml`` (a real YAML emitter) and shell commands through ``shell_quote``.
"""

from __future__ import annotations

import io
import json
import re
import shlex
from functools import lru_cache
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from mlform.resources import resource_dir

# Strings a YAML 1.1 reader (PyYAML, go-yaml in Kubernetes tools) would take for something
# else; they are always quoted so every reader sees the same value.
_YAML11_AMBIGUOUS = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|true|True|TRUE|false|False|FALSE"
    r"|null|Null|NULL|~|[-+]?[0-9_]+(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|[-+]?0b[01_]+"
    r"|[-+]?0[0-7_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|=)$"
)


def _represent_str(representer: Any, value: str) -> Any:
    style = "'" if _YAML11_AMBIGUOUS.match(value) else None
    if "\n" in value:
        style = "|"
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style=style)


@lru_cache(maxsize=1)
def _representer() -> type:
    from ruamel.yaml.representer import SafeRepresenter

    class Representer(SafeRepresenter):
        """Quotes YAML 1.1-ambiguous strings and writes no anchors (a value used twice is
        written twice: rendered files are read by people and by tools without aliases)."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    Representer.add_representer(str, _represent_str)
    return Representer


def to_yaml(data: Any) -> str:
    """Block-style YAML of plain data, in insertion order, without a trailing newline."""
    from ruamel.yaml import YAML

    yaml: Any = YAML(typ="safe", pure=True)  # its attribute stubs are narrower than its API
    yaml.Representer = _representer()
    yaml.sort_base_mapping_type_on_output = False  # keep our (deterministic) order
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.width = 4096
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue().rstrip("\n")


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False)


def shell_quote(value: Any) -> str:
    return shlex.quote(str(value))


def shell_join(words: list[str]) -> str:
    """A command line whose every word is quoted for a POSIX shell."""
    return " ".join(shlex.quote(w) for w in words)


def pbtxt_string(value: Any) -> str:
    """A protobuf text-format string literal."""
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


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
