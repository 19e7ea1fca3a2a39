"""Templates in ``exec`` scripts: a value never becomes code.

In a shell script (no shebang, or one naming sh, bash, dash, zsh, ksh or ash) each ``{{ expression }}`` is
rendered as a reference to an environment variable holding its value (``${ARA_VALUE_1}``), which the action
sets for the script. The shell expands a variable after parsing the line, so a value such as ``x $(touch owned)``
or ``'; rm -rf ~`` stays text wherever the reference stands: unquoted (one word per blank-separated part, as any
``$VAR``), inside double quotes (exactly the value) or in a here-document. The author's own script text, ``{% if
%}`` blocks included, is rendered as written. A script for another interpreter (``#!/usr/bin/env python3``) is not
templated at all: its values come through the action's ``env``, which is templated (values there are data).

A value too large for the environment (over 64 KiB) is written to a file beside the script and referenced as
``$(cat file)`` instead (still text, trailing newlines dropped, as command substitution does)."""

from __future__ import annotations

import contextvars
import functools
import os
import shlex
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ara.errors import ValidationFailed
from ara.playbooks.templating import to_jinja

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash"})
VALUE_PREFIX = "ARA_VALUE_"
ENV_LIMIT = 64 * 1024


def interpreter(script: str) -> str:
    """The program that runs ``script``: ``bash`` without a shebang, else the shebang's (through ``env``)."""
    if not script.startswith("#!"):
        return "bash"
    words = script[2:].split("\n", 1)[0].split()
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return os.path.basename(words[0]) if words else ""


def is_shell(script: str) -> bool:
    return interpreter(script) in SHELLS


class _Values:
    """What one rendering collected: environment variables, and files for values too large for them."""

    def __init__(self, spill_dir: Path) -> None:
        self.env: dict[str, str] = {}
        self.spill_dir = spill_dir

    def reference(self, value: Any) -> str:
        text = "" if value is None else str(value)
        number = len(self.env) + 1
        name = f"{VALUE_PREFIX}{number}"
        if len(text.encode("utf-8", "surrogatepass")) <= ENV_LIMIT:
            self.env[name] = text
            return "${" + name + "}"
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / name
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        self.env[name] = str(path)  # keeps the numbering; the script may read the file's path from it
        return f"$(cat {shlex.quote(str(path))})"


_collector: contextvars.ContextVar[_Values] = contextvars.ContextVar("ara_script_values")


@pass_context
def _as_reference(context: Context, value: Any) -> str:
    return _collector.get().reference(value)


@functools.cache
def _environment() -> ImmutableSandboxedEnvironment:
    # ``finalize`` takes the context, so Jinja never folds a constant at compile time: every output is collected.
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_as_reference
    )


def render_script(script: str, context: dict[str, Any], *, field: str, spill_dir: Path) -> tuple[str, dict[str, str]]:
    """(the script to run, the environment variables its references need)."""
    if not is_shell(script) or ("{{" not in script and "$(" not in script and "{%" not in script):
        return script, {}
    values = _Values(spill_dir)
    token = _collector.set(values)
    try:
        rendered = _environment().from_string(to_jinja(script)).render(**context)
    except TemplateError as exc:
        raise ValidationFailed({field: [f"template error: {exc}"]}) from None
    finally:
        _collector.reset(token)
    return rendered, values.env
