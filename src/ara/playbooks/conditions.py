"""``if`` conditions of actions, written in CEL: ``success()`` (the default), ``failure()``, ``always()``,
``skip()``, or any expression over ``params``, ``config``, ``getAction("name").result`` and friends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cel

from ara.errors import ValidationFailed


def should_run(expression: str, *, failed: bool, context: Mapping[str, Any], actions: Mapping[str, Any]) -> bool:
    """Whether an action runs, given whether an earlier action has failed.

    With no ``if``, an action runs only while everything before it succeeded; after a failure only actions that
    carry an ``if`` are considered, and those run when it evaluates true.
    """
    text = expression.strip()
    if not text:
        return not failed
    env = cel.Context()
    for name, value in context.items():
        env.add_variable(name, _plain(value))
    env.add_function("success", lambda: not failed)
    env.add_function("failure", lambda: failed)
    env.add_function("always", lambda: True)
    env.add_function("skip", lambda: False)
    env.add_function("getAction", lambda name: _plain(actions.get(name, {})))
    try:
        outcome = cel.evaluate(text, env)
    except Exception as exc:  # the CEL library raises plain ValueError/RuntimeError variants
        raise ValidationFailed({"if": [f"cannot evaluate {text!r}: {exc}"]}) from None
    if isinstance(outcome, str):
        return outcome.strip().lower() == "true"
    return bool(outcome)


def check_expression(expression: str) -> None:
    """Compile-check an ``if`` when a definition is saved."""
    if expression.strip():
        try:
            cel.compile(expression)
        except Exception as exc:
            raise ValueError(f"invalid CEL expression {expression!r}: {exc}") from None


def _plain(value: Any) -> Any:
    """CEL wants plain JSON-like values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
