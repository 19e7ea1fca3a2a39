"""Who may do what with a playbook: roles rank viewer < operator < approver < admin, and per-playbook grants
add ``run``, ``approve`` or ``cancel`` for a user, a team (``team:NAME``) or a role (``role:NAME``)."""

from __future__ import annotations

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from ara.errors import PermissionDenied, Unauthenticated
from ara.playbooks.models import PlaybookPermission
from ara.playbooks.spec import PlaybookSpec
from ara.users.service import Identity

RANK = {"viewer": 0, "operator": 1, "approver": 2, "admin": 3}
# The lowest role that may do each thing on any playbook without a grant.
NEEDS = {"read": "viewer", "run": "operator", "cancel": "operator", "define": "admin", "approve": None}


def _principals(identity: Identity) -> set[str]:
    return {identity.username, f"role:{identity.role}", *(f"team:{team}" for team in identity.teams)}


def granted(session: Session, identity: Identity, playbook_id: str, action: str) -> bool:
    rows = session.scalars(
        select(PlaybookPermission.principal).where(
            PlaybookPermission.playbook_id == playbook_id, PlaybookPermission.action == action
        )
    )
    return bool(_principals(identity) & set(rows))


def require(session: Session, identity: Identity | None, playbook_id: str | None, action: str) -> Identity:
    """The caller, if allowed; 401 without credentials, 403 when not allowed."""
    if identity is None:
        raise Unauthenticated("Authentication credentials were not provided.")
    needed = NEEDS[action]
    if needed is not None and RANK.get(identity.role, -1) >= RANK[needed]:
        return identity
    if playbook_id is not None and granted(session, identity, playbook_id, action):
        return identity
    raise PermissionDenied(f"{identity.username} may not {action} this playbook")


def readable_playbooks(identity: Identity | None) -> Select[tuple[str]] | None:
    """The ids of the playbooks whose runs ``identity`` may read, as ``require(..., "read")`` decides, for a query
    over many runs (search): None when every playbook's are (the role suffices)."""
    granted = select(PlaybookPermission.playbook_id).where(PlaybookPermission.action == "read")
    if identity is None:
        return granted.where(false())
    needed = NEEDS["read"]
    if needed is None or RANK.get(identity.role, -1) >= RANK[needed]:
        return None
    return granted.where(PlaybookPermission.principal.in_(_principals(identity)))


def allowed(session: Session, identity: Identity | None, playbook_id: str | None, action: str) -> bool:
    """``require`` as a question: whether a page shows the button the route behind it would accept."""
    try:
        require(session, identity, playbook_id, action)
    except (PermissionDenied, Unauthenticated):
        return False
    return True


def is_approver(session: Session, identity: Identity, spec: PlaybookSpec, playbook_id: str) -> bool:
    """Listed by name or team in the spec's approvers, or granted ``approve`` on this playbook."""
    if spec.approval is None:
        return False
    people, teams = spec.approval.approvers.people, spec.approval.approvers.teams
    return (
        identity.username in people
        or bool(set(identity.teams) & set(teams))
        or granted(session, identity, playbook_id, "approve")
    )


ACTIONS = ("run", "approve", "cancel")


def grant(session: Session, playbook_id: str, principal: str, action: str) -> PlaybookPermission:
    from ara.errors import ValidationFailed

    if action not in ACTIONS:
        raise ValidationFailed({"action": [f"must be one of {', '.join(ACTIONS)}"]})
    if not principal.strip():
        raise ValidationFailed({"principal": ["a username, team:NAME or role:NAME"]})
    row = PlaybookPermission(playbook_id=playbook_id, principal=principal.strip(), action=action)
    session.add(row)
    session.flush()
    return row


def revoke(session: Session, playbook_id: str, permission_id: str) -> None:
    from ara.errors import NotFound

    row = session.get(PlaybookPermission, permission_id)
    if row is None or row.playbook_id != playbook_id:
        raise NotFound(f"permission {permission_id} not found")
    session.delete(row)


def grants(session: Session, playbook_id: str) -> list[dict[str, str]]:
    rows = session.scalars(select(PlaybookPermission).where(PlaybookPermission.playbook_id == playbook_id))
    return [{"id": r.id, "principal": r.principal, "action": r.action} for r in rows]
