"""Templates in specs: sandboxed Jinja2 over ``params, config, component, check, run, env, user, request`` and the
earlier actions, with Mission Control's Go-style ``{{.params.x}}`` and ``$(.params.x)`` accepted too."""

from __future__ import annotations

import contextvars
import functools
import re
from typing import Any

from jinja2 import StrictUndefined, TemplateError, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ara.errors import ValidationFailed

_GO_STYLE = re.compile(r"\{\{(-?)\s*\.")
_DOLLAR = re.compile(r"\$\(\s*\.([A-Za-z_][\w.]*)\s*\)")  # a path only: ``$(./run.sh)`` is a command


def to_jinja(text: str) -> str:
    """``{{.params.x}}`` -> ``{{params.x}}``; ``$(.params.x)`` -> ``{{ params.x }}``."""
    return _DOLLAR.sub(lambda m: "{{ " + m.group(1).strip() + " }}", _GO_STYLE.sub(r"{{\1 ", text))


@functools.cache
def _environment() -> ImmutableSandboxedEnvironment:
    # Sandboxed: templates come from playbook authors and may not reach Python internals.
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def render(text: str, context: dict[str, Any], *, field: str = "template") -> str:
    if not has_template(text):
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


# -- marked rendering: each output replaced by a marker, its value kept aside -----------------------------------
# For text where a value must never be pasted (a shell script, a SQL query): the caller puts a reference where
# each marker stands (an environment variable, a bind parameter). A NUL cannot occur in a stored spec.
MARKER = re.compile(r"\x00ara(\d+)\x00")


def marker(number: int) -> str:
    return f"\x00ara{number}\x00"


_outputs: contextvars.ContextVar[list[Any]] = contextvars.ContextVar("ara_template_outputs")


@pass_context
def _mark(context: Context, value: Any) -> str:
    outputs = _outputs.get()
    outputs.append(value)
    return marker(len(outputs))


@functools.cache
def _marking_environment() -> ImmutableSandboxedEnvironment:
    # ``finalize`` takes the context, so Jinja never folds a constant at compile time: every output is marked.
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_mark
    )


def render_marked(text: str, context: dict[str, Any], *, field: str = "template") -> tuple[str, list[Any]]:
    """(``text`` rendered with a marker for each output, the outputs' values in order: marker ``n`` is
    ``values[n - 1]``)."""
    outputs: list[Any] = []
    token = _outputs.set(outputs)
    try:
        return _marking_environment().from_string(to_jinja(text)).render(**context), outputs
    except TemplateError as exc:
        raise ValidationFailed({field: [f"template error: {exc}"]}) from None
    finally:
        _outputs.reset(token)


def has_template(text: str) -> bool:
    return "{{" in text or "$(" in text or "{%" in text
