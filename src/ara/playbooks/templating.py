"""Templates in specs: sandboxed Jinja2 over ``params, config, component, check, run, env, user, request`` and the
earlier actions, with Mission Control's Go-style ``{{.params.x}}`` and ``$(.params.x)`` accepted too."""

from __future__ import annotations

import functools
import re
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ara.errors import ValidationFailed

_GO_STYLE = re.compile(r"\{\{(-?)\s*\.")
_DOLLAR = re.compile(r"\$\(\s*\.([^()]*)\)")


def to_jinja(text: str) -> str:
    """``{{.params.x}}`` -> ``{{params.x}}``; ``$(.params.x)`` -> ``{{ params.x }}``."""
    return _DOLLAR.sub(lambda m: "{{ " + m.group(1).strip() + " }}", _GO_STYLE.sub(r"{{\1 ", text))


@functools.cache
def _environment() -> ImmutableSandboxedEnvironment:
    # Sandboxed: templates come from playbook authors and may not reach Python internals.
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def render(text: str, context: dict[str, Any], *, field: str = "template") -> str:
    if "{{" not in text and "$(" not in text and "{%" not in text:
        return text
    try:
        return _environment().from_string(to_jinja(text)).render(**context)
    except TemplateError as exc:
        raise ValidationFailed({field: [f"template error: {exc}"]}) from None


def render_tree(value: Any, context: dict[str, Any], *, field: str = "template") -> Any:
    """Render every string inside lists and dicts."""
    if isinstance(value, str):
        return render(value, context, field=field)
    if isinstance(value, list):
        return [render_tree(item, context, field=field) for item in value]
    if isinstance(value, dict):
        return {key: render_tree(item, context, field=field) for key, item in value.items()}
    return value
