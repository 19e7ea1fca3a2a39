"""Run parameters: check what a caller gives against the spec, fill in (templated) defaults, seal secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ara.catalog.models import KINDS
from ara.crypto import SecretBox, is_sealed
from ara.errors import ValidationFailed
from ara.playbooks.durations import parse_duration
from ara.playbooks.spec import Parameter, PlaybookSpec
from ara.playbooks.templating import render_tree
from ara.redaction import REDACTED

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
_CATALOG_KIND = {"config": "configs", "component": "components", "check": "checks"}


def default_value(parameter: Parameter, context: Mapping[str, Any]) -> Any:
    """A parameter's default, rendered as a template over the run's context."""
    if parameter.default is None:
        return None
    return render_tree(parameter.default, dict(context), field=f"parameters.{parameter.name}.default")


def render_form(spec: PlaybookSpec, context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each parameter as a form shows it, its default already rendered (secrets never shown).

    Defaults see the ``params`` the caller gave so far; one that needs a parameter not given yet is left
    empty rather than refusing the whole form, which is shown before the user has filled anything in."""
    form = []
    for parameter in spec.parameters:
        item = parameter.model_dump(mode="json", exclude={"properties"})
        try:
            item["default"] = None if parameter.type == "secret" else default_value(parameter, context)
        except ValidationFailed:
            item["default"] = None
        form.append(item)
    return form


def _coerce(session: Session, parameter: Parameter, value: Any) -> tuple[Any, str | None]:
    kind = parameter.type
    if kind == "checkbox":
        text = str(value).strip().lower() if not isinstance(value, bool) else ("true" if value else "false")
        if text in _TRUE:
            return "true", None
        if text in _FALSE:
            return "false", None
        return None, "must be true or false"
    if value is not None and not isinstance(value, str | int | float):
        return None, "must be a string"
    text = "" if value is None else str(value)
    if kind == "list":
        allowed = [option.value for option in parameter.options]
        if text not in allowed:
            return None, f"must be one of: {', '.join(allowed)}"
    elif kind == "duration":
        try:
            parse_duration(text)
        except ValueError as exc:
            return None, str(exc)
    elif kind in _CATALOG_KIND:
        if session.get(KINDS[_CATALOG_KIND[kind]], text) is None:
            return None, f"no {kind} with id {text!r}"
    return text, None


def resolve_parameters(
    session: Session, spec: PlaybookSpec, given: Any, context: Mapping[str, Any], box: SecretBox
) -> dict[str, Any]:
    """Validated parameters (secrets sealed), or a 400 naming every missing, unknown or invalid one."""
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise ValidationFailed({"params": ["must be an object of name: value"]})
    known = {parameter.name: parameter for parameter in spec.parameters}
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(given) - set(known))
    if unknown:
        errors["params"] = [f"unknown parameter(s): {', '.join(unknown)}"]
    resolved: dict[str, Any] = {}
    missing = []
    for name, parameter in known.items():
        if name in given and given[name] is not None and given[name] != "":
            value, error = _coerce(session, parameter, given[name])
        else:
            default = default_value(parameter, {**context, "params": resolved})
            if default in (None, ""):
                if parameter.required:
                    missing.append(name)
                continue
            value, error = _coerce(session, parameter, default)
        if error:
            errors[f"params.{name}"] = [error]
            continue
        resolved[name] = box.seal(value) if parameter.type == "secret" and not is_sealed(value) else value
    if missing:
        errors.setdefault("params", []).append(f"missing required parameter(s): {', '.join(missing)}")
        errors.update({f"params.{name}": ["this parameter is required"] for name in missing})  # a form marks each
    if errors:
        raise ValidationFailed(errors)
    return resolved


def redacted(parameters: Mapping[str, Any]) -> dict[str, Any]:
    return {name: REDACTED if is_sealed(value) else value for name, value in parameters.items()}


def opened(parameters: Mapping[str, Any], box: SecretBox) -> dict[str, Any]:
    """The real values, for the action that needs them (and the scrubber that hides them again)."""
    return {name: box.open(value) if is_sealed(value) else value for name, value in parameters.items()}
