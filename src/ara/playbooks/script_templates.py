"""Templates in ``exec`` scripts: a value never becomes code.

In a shell script (no shebang, or one naming sh, bash, dash, zsh, ksh or ash) each ``{{ expression }}`` is
rendered as a reference to an environment variable holding its value, which the action sets for the script. The
shell expands a variable after it has parsed the line, so a value such as ``x $(touch owned)`` or ``'; rm -rf ~``
stays text. The reference is written for where it stands, so it reads as exactly the value, one word:
``"${ARA_VALUE_1}"`` unquoted, ``${ARA_VALUE_1}`` inside double quotes or a here-document, ``'"${ARA_VALUE_1}"'``
inside single quotes (``'"${ARA_VALUE_1}"$'`` inside ``$'...'``). Wherever bash evaluates text as arithmetic
(``$(( ))``, ``(( ))``, ``$[ ]``, ``[[ x -eq y ]]``, an array subscript, a substring offset, ``let``, ``declare
-i``), where ``a[$(cmd)]`` would run cmd, a value must be an integer (a name where it names a variable:
``printf -v``, ``read``, ``declare``, ``-v``); inside a quoted here-document (``<<'EOF'``,
where nothing expands) a template is refused. The author's own script text, ``{% if %}`` blocks included, is
rendered as written. A script for another interpreter (``#!/usr/bin/env python3``) is not templated at all: its
values come through the action's ``env``, which is templated (values there are data).

A value too large for the environment (over 64 KiB) is written to a file beside the script and read with
``$(cat file)`` instead (still text; trailing newlines dropped, as command substitution does)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

from ara.errors import ValidationFailed
from ara.playbooks.shell_context import (
    ANSI_C,
    ARITHMETIC,
    DOUBLE,
    HEREDOC,
    NAME,
    QUOTED_HEREDOC,
    SINGLE,
    substitute,
)
from ara.playbooks.templating import has_template, render_marked

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


class _References:
    """The reference for each output, by where it stands, and the environment they need."""

    def __init__(self, values: list[Any], spill_dir: Path) -> None:
        self.values = ["" if value is None else str(value) for value in values]
        self.env: dict[str, str] = {}
        self.spill_dir = spill_dir

    def __call__(self, number: int, context: str) -> str:
        text, name = self.values[number - 1], f"{VALUE_PREFIX}{number}"
        if "\x00" in text:
            raise ValueError(f"output {number} holds a NUL byte, which no shell variable can")
        if context == QUOTED_HEREDOC:
            raise ValueError("a template inside a quoted here-document (<<'EOF') cannot be filled safely; use <<EOF")
        if context == ARITHMETIC and not re.fullmatch(r"-?[0-9]+", text.strip()):
            raise ValueError(f"a template in shell arithmetic must be an integer (output {number} is not)")
        if context == NAME and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+", text):
            raise ValueError(f"a template naming a variable must be a name (output {number} is not)")
        if len(text.encode("utf-8", "surrogatepass")) <= ENV_LIMIT:
            self.env[name] = text
            bare = "${" + name + "}"
        else:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            path = self.spill_dir / name
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            bare = f"$(cat {shlex.quote(str(path))})"
        if context in (DOUBLE, HEREDOC):
            return bare
        if context == SINGLE:
            return f"'\"{bare}\"'"
        if context == ANSI_C:
            return f"'\"{bare}\"$'"
        return f'"{bare}"'


def render_script(script: str, context: dict[str, Any], *, field: str, spill_dir: Path) -> tuple[str, dict[str, str]]:
    """(the script to run, the environment variables its references need)."""
    if not is_shell(script) or not has_template(script):
        return script, {}
    marked, values = render_marked(script, context, field=field)
    references = _References(values, spill_dir)
    try:
        return substitute(marked, references), references.env
    except ValueError as exc:
        raise ValidationFailed({field: [f"template error: {exc}"]}) from None
