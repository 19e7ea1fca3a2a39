"""Every way a run starts goes through ``create_run`` (API, schedule, webhook, records event, re-run): same
validation, approval and timeout. Approve, reject, cancel and the read-only views live here too; executing
the actions is the engine's job, never an API handler's."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from ara.catalog.service import as_dict as item_dict
from ara.catalog.service import find_item, matches
from ara.crypto import SecretBox
from ara.db.detached import insert_detached
from ara.db.types import iso, utcnow
from ara.errors import NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from ara.lifecycle.ending import end_run
from ara.lifecycle.executor import abort, make_due
from ara.lifecycle.states import TERMINAL, RunStatus, move_run
from ara.playbooks import ending as _ending  # noqa: F401 - registers how a playbook run ends
from ara.playbooks.conditions import should_run
from ara.playbooks.definitions import get_definition, live_spec, redacted_spec, spec_of
from ara.playbooks.durations import parse_duration
from ara.playbooks.models import Approval, PlaybookDefinition, PlaybookRun, RunAction
from ara.playbooks.parameters import redacted, render_form, resolve_parameters
from ara.playbooks.permissions import is_approver, require
from ara.playbooks.spec import PlaybookSpec
from ara.users.service import Identity

TARGETS = (("config_id", "configs"), ("check_id", "checks"), ("component_id", "components"))


def _target(session: Session, spec: PlaybookSpec, request: dict[str, Any]) -> dict[str, Any]:
    """The catalog item a run is for (at most one), checked against the playbook's selectors."""
    given = [(field, kind) for field, kind in TARGETS if request.get(field)]
    if len(given) > 1:
        raise ValidationFailed({field: ["give at most one of config_id, check_id, component_id"] for field, _ in given})
    context: dict[str, Any] = {"config": {}, "check": {}, "component": {}}
    if not given:
        return context
    field, kind = given[0]
    found = find_item(session, str(request[field]))
    if found is None or found[0] != kind:
        raise NotFound(f"{kind[:-1]} {request[field]} not found")
    selectors = getattr(spec, kind)
    if selectors and not any(matches(found[1], selector) for selector in selectors):
        raise ValidationFailed({field: [f"this playbook does not apply to {kind[:-1]} {request[field]}"]})
    context[kind[:-1]] = item_dict(found[1])
    return context


def base_context(
    session: Session, spec: PlaybookSpec, request: dict[str, Any], identity: Identity | None
) -> dict[str, Any]:
    context = _target(session, spec, request)
    context.update(
        env=dict(spec.env),
        user={"name": identity.username, "role": identity.role} if identity else {},
        request={k: v for k, v in request.items() if k != "params"},
        params={},
    )
    return context


def create_run(
    session: Session,
    box: SecretBox,
    *,
    playbook_id: str,
    request: Any,
    identity: Identity | None,
    trigger: str = "api",
    check_permission: bool = True,
) -> PlaybookRun:
    """Validate and store a run: ``pending_approval`` when approval is needed, otherwise ``scheduled``."""
    if check_permission and identity is None:
        raise Unauthenticated("Authentication credentials were not provided.")
    if not isinstance(request, dict):
        raise ValidationFailed({"body": ["expected a JSON object"]})
    stored_spec = live_spec(session, playbook_id)
    if check_permission:
        require(session, identity, playbook_id, "run")
    spec = PlaybookSpec.model_validate(stored_spec)
    context = base_context(session, spec, request, identity)
    params = resolve_parameters(session, spec, request.get("params"), context, box)
    for expression in spec.filters:
        if not should_run(expression, failed=False, context={**context, "params": params}, actions={}):
            raise ValidationFailed({"filters": [f"filter not satisfied: {expression}"]})
    now = utcnow()
    values = dict(
        playbook_id=playbook_id,
        status=RunStatus.SCHEDULED,
        spec=stored_spec,
        parameters=params,
        request={k: v for k, v in request.items() if k not in ("params", "id")},
        trigger=trigger,
        created_by=identity.username if identity else None,
        config_id=request.get("config_id"),
        check_id=request.get("check_id"),
        component_id=request.get("component_id"),
        agent_id=request.get("agent_id"),
        parent_id=request.get("parent_id"),
        timeout=int(spec.timeout_seconds),
        created_at=now,
        scheduled_time=now,
    )
    if spec.approval is not None:
        values["status"] = RunStatus.PENDING_APPROVAL
        if spec.approval.expiry:
            values["approval_expires_at"] = now + dt.timedelta(seconds=parse_duration(spec.approval.expiry))
    run = _inserted(session, values)
    if run.status == RunStatus.SCHEDULED:
        make_due(session, run.id)
    # A run an app started (its key acts as the owner) waits for a person's approval, never the owner's by proxy.
    if (
        spec.approval is not None
        and identity is not None
        and identity.app_id is None
        and is_approver(session, identity, spec, playbook_id)
    ):
        _record_approval(session, run, spec, identity, approved=True, comment="creator is an approver")
    return run


def _inserted(session: Session, values: dict[str, Any]) -> PlaybookRun:
    """The new run, written by one Core INSERT and held by the session as if it had been loaded, so later changes to
    it are UPDATEs (the ORM's INSERT, through a flush, cost a fifth of a run's POST)."""
    run = PlaybookRun(**values)
    insert_detached(session, run)
    session.add(run)
    return run


def get_run(session: Session, run_id: str, *, locked: bool = False) -> PlaybookRun:
    """``locked``: the row locked until the transaction ends (PostgreSQL), read afresh."""
    run = session.get(PlaybookRun, run_id, with_for_update=True if locked else None, populate_existing=locked)
    if run is None:
        raise NotFound(f"playbook run {run_id} not found")
    return run


def list_runs(
    session: Session, *, playbook_id: str | None = None, statuses: Iterable[str] = (), limit: int, offset: int = 0
) -> list[Any]:
    """One page of runs, newest first (the API's ``/playbook/runs``, which pollers call often, and the UI's list):
    rows of the run's columns, which ``run_dict`` reads as it reads a run (no objects are built)."""
    wanted = list(statuses)
    params = {"playbook_id": playbook_id, "statuses": wanted, "limit": limit, "offset": offset}
    return list(session.connection().execute(_page(bool(playbook_id), bool(wanted)), params).all())


def count_runs(session: Session, *, playbook_id: str | None = None, statuses: Iterable[str] = ()) -> int:
    """How many runs ``list_runs`` pages through (the UI's pager)."""
    wanted = list(statuses)
    counted = select(func.count()).select_from(_listed(bool(playbook_id), bool(wanted)).subquery())
    return session.connection().execute(counted, {"playbook_id": playbook_id, "statuses": wanted}).scalar() or 0


@functools.cache
def _listed(by_playbook: bool, by_status: bool) -> Select[Any]:
    """The runs ``list_runs`` and ``count_runs`` read, for the filters given, with bound parameters."""
    query = select(PlaybookRun.__table__)
    if by_playbook:
        query = query.where(PlaybookRun.playbook_id == bindparam("playbook_id"))
    return query.where(PlaybookRun.status.in_(bindparam("statuses", expanding=True))) if by_status else query


@functools.cache
def _page(by_playbook: bool, by_status: bool) -> Select[Any]:
    """``list_runs``' statement, built once per set of filters."""
    ordered = _listed(by_playbook, by_status).order_by(PlaybookRun.created_at.desc(), PlaybookRun.id.desc())
    return ordered.limit(bindparam("limit")).offset(bindparam("offset"))


def _approvals_complete(session: Session, run: PlaybookRun, spec: PlaybookSpec) -> bool:
    assert spec.approval is not None
    approvers = set(session.scalars(select(Approval.approver).where(Approval.run_id == run.id, Approval.approved)))
    if spec.approval.type == "any":
        return bool(approvers)
    people_done = set(spec.approval.approvers.people) <= approvers
    return people_done and all(_team_approved(session, run, team) for team in spec.approval.approvers.teams)


def _team_approved(session: Session, run: PlaybookRun, team: str) -> bool:
    from ara.users.models import User

    names = set(session.scalars(select(Approval.approver).where(Approval.run_id == run.id, Approval.approved)))
    members = session.scalars(select(User).where(User.username.in_(names))) if names else []
    return any(team in (member.teams or []) for member in members)


def _record_approval(
    session: Session, run: PlaybookRun, spec: PlaybookSpec, identity: Identity, *, approved: bool, comment: str
) -> None:
    session.add(Approval(run_id=run.id, approver=identity.username, approved=approved, comment=comment))
    session.flush()
    if not approved:
        end_run(
            session, run, RunStatus.CANCELLED, f"rejected by {identity.username}" + (f": {comment}" if comment else "")
        )
    elif _approvals_complete(session, run, spec):
        move_run(run, RunStatus.SCHEDULED)
        run.scheduled_time = utcnow()
        make_due(session, run.id)


def decide(
    session: Session,
    run_id: str,
    identity: Identity | None,
    *,
    approved: bool,
    comment: str = "",
    playbook_id: str | None = None,
) -> PlaybookRun:
    """Approve or reject a pending run: 400 if the playbook needs no approval or the run is not pending,
    403 for someone who is not an approver."""
    run = get_run(session, run_id)
    if playbook_id is not None and run.playbook_id != playbook_id:
        raise NotFound(f"playbook run {run_id} not found for playbook {playbook_id}")
    spec = PlaybookSpec.model_validate(run.spec)
    if spec.approval is None:
        raise ValidationFailed({"run": ["this playbook does not require approval"]})
    if identity is None:
        require(session, identity, run.playbook_id, "approve")
    assert identity is not None
    if not is_approver(session, identity, spec, run.playbook_id):
        raise PermissionDenied(f"{identity.username} is not an approver of this playbook")
    if run.status != RunStatus.PENDING_APPROVAL:
        raise ValidationFailed({"run": [f"run is {run.status}, not pending approval"]})
    already = session.scalar(
        select(Approval.id).where(Approval.run_id == run.id, Approval.approver == identity.username)
    )
    if already is not None and approved:
        return run
    _record_approval(session, run, spec, identity, approved=approved, comment=comment)
    return run


def cancel_run(session: Session, run_id: str, identity: Identity | None) -> PlaybookRun:
    run = get_run(session, run_id, locked=True)  # an executor finishing a step meanwhile goes first, or waits
    require(session, identity, run.playbook_id, "cancel")
    if run.status in TERMINAL:
        raise ValidationFailed({"run": [f"run already {run.status}"]})
    end_run(session, run, RunStatus.CANCELLED, f"cancelled by {identity.username if identity else 'system'}")
    abort(session, run.id)  # the executor kills a running action's process group once this commits
    return run


def rerun(session: Session, box: SecretBox, run_id: str, identity: Identity | None) -> PlaybookRun:
    """A new run of the same playbook with the same parameters (secrets stay sealed, never re-entered)."""
    original = get_run(session, run_id)
    request = dict(original.request)
    request["params"] = dict(original.parameters)
    for field, _ in TARGETS:
        if getattr(original, field):
            request[field] = getattr(original, field)
    run = create_run(
        session, box, playbook_id=original.playbook_id, request=request, identity=identity, trigger="rerun"
    )
    run.request = {**run.request, "rerun_of": original.id}
    return run


def run_dict(run: PlaybookRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "playbook_id": run.playbook_id,
        "status": run.status,
        "spec": redacted_spec(run.spec),
        "created_at": iso(run.created_at),
        "start_time": iso(run.start_time),
        "scheduled_time": iso(run.scheduled_time),
        "end_time": iso(run.end_time),
        "timeout": run.timeout,
        "created_by": run.created_by,
        "component_id": run.component_id,
        "config_id": run.config_id,
        "check_id": run.check_id,
        "parameters": redacted(run.parameters),
        "request": run.request,
        "agent_id": run.agent_id,
        "parent_id": run.parent_id,
        "error": run.error,
        "trigger": run.trigger,
        "records_playbook_id": run.records_playbook_id,
    }


def action_dict(action: RunAction) -> dict[str, Any]:
    return {
        "id": action.id,
        "name": action.name,
        "playbook_run_id": action.run_id,
        "attempt": action.attempt,
        "status": action.status,
        "scheduled_time": iso(action.scheduled_time),
        "start_time": iso(action.start_time),
        "end_time": iso(action.end_time),
        "result": action.result,
        "error": action.error,
    }


def run_status(session: Session, run_id: str) -> dict[str, Any]:
    from ara.playbooks.definitions import as_dict

    run = get_run(session, run_id)
    definition = session.get(PlaybookDefinition, run.playbook_id)
    actions = session.scalars(
        select(RunAction).where(RunAction.run_id == run.id).order_by(RunAction.position, RunAction.attempt)
    )
    return {
        "playbook": as_dict(definition) if definition else None,
        "run": run_dict(run),
        "actions": [action_dict(action) for action in actions],
        "approvals": [
            {"approver": a.approver, "approved": a.approved, "comment": a.comment, "created_at": iso(a.created_at)}
            for a in session.scalars(select(Approval).where(Approval.run_id == run.id).order_by(Approval.created_at))
        ],
    }


def params_form(session: Session, playbook_id: str, request: Any, identity: Identity | None) -> dict[str, Any]:
    definition = get_definition(session, playbook_id)
    spec = spec_of(definition)
    request = request if isinstance(request, dict) else {}
    context = base_context(session, spec, request, identity)
    given = request.get("params")
    context["params"] = {str(k): v for k, v in given.items()} if isinstance(given, dict) else {}
    return {"params": render_form(spec, context)}
