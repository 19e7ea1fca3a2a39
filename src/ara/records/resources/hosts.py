"""Hosts and latest hosts (the most recent host row of each name)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.records import models as m
from ara.records import representation as rep
from ara.records.fields import Field
from ara.records.filters import Filter
from ara.records.resources.base import (
    PayloadResource,
    Resource,
    date_filters,
    orderings,
    playbook_filter,
    simple_playbooks,
)
from ara.records.service import (
    get_or_404,
    get_or_create,
    repoint_latest_hosts,
    upsert_latest_host,
)

_HOST_COUNTERS = ("changed", "failed", "ok", "skipped", "unreachable")


class Hosts(PayloadResource):
    shape = staticmethod(rep.host)
    payload = "facts"
    name = "hosts"
    model = m.Host
    fields = {
        "name": Field("str", required=True, blank=False, max_length=255),
        "facts": Field("json", default=dict),
        **{counter: Field("int") for counter in _HOST_COUNTERS},
        "playbook": Field("fk", required=True),
    }
    filters = {
        **date_filters(m.Host, timed=False),
        "playbook": Filter("number", lambda: m.Host.playbook_id),
        "playbook_name": playbook_filter(m.Host, "name"),
        "playbook_path": playbook_filter(m.Host, "path"),
        "name": Filter("icontains", lambda: m.Host.name),
        **{
            f"{counter}__{op}": Filter(op, lambda c=counter: getattr(m.Host, c))
            for counter in _HOST_COUNTERS
            for op in ("gt", "lt")
        },
    }
    orders = orderings(m.Host, "name", *_HOST_COUNTERS)
    default_order = staticmethod(lambda: [m.Host.id.asc()])
    unique_together = "name, playbook"

    def new(self, session: Session, values: dict[str, Any]) -> Any:
        """Get or create by (name, playbook), then make it the latest host of that name."""
        host = get_or_create(session, m.Host, values, key=("name", "playbook_id"))
        upsert_latest_host(session, host)
        return host

    def destroy(self, session: Session, key: str) -> None:
        host = self.lookup(session, key)
        repoint_latest_hosts(session, [host])
        session.delete(host)


class LatestHosts(Resource):
    name = "latesthosts"
    model = m.LatestHost
    read_only = True
    filters = {
        **date_filters(m.LatestHost, timed=False),
        "playbook": Filter("number", lambda: m.Host.playbook_id, via=lambda: (m.LatestHost.host_id, select(m.Host.id))),
        "playbook_name": Filter(
            "icontains",
            lambda: m.Playbook.name,
            via=lambda: (m.LatestHost.host_id, select(m.Host.id).join(m.Playbook, m.Playbook.id == m.Host.playbook_id)),
        ),
        "name": Filter("icontains", lambda: m.LatestHost.name),
        **{
            f"{counter}__{op}": Filter(
                op, lambda c=counter: getattr(m.Host, c), via=lambda: (m.LatestHost.host_id, select(m.Host.id))
            )
            for counter in _HOST_COUNTERS
            for op in ("gt", "lt")
        },
    }
    orders = {
        "created": lambda: m.LatestHost.created,
        "updated": lambda: m.LatestHost.updated,
        "name": lambda: m.LatestHost.name,
        "id": lambda: m.LatestHost.host_id,
    }
    default_order = staticmethod(lambda: [m.LatestHost.name.asc()])

    def lookup(self, session: Session, key: str) -> Any:
        return get_or_404(session, m.LatestHost, key)

    def _shape(self, session: Session, latest: m.LatestHost, playbooks: dict[int, dict[str, Any]]) -> dict[str, Any]:
        host = session.get(m.Host, latest.host_id)
        return {
            "name": latest.name,
            "host": rep.host(host, facts=True, playbook_value=playbooks.get(host.playbook_id)) if host else None,
            "created": rep.iso(latest.created),
            "updated": rep.iso(latest.updated),
        }

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        hosts = {h.id: h for h in session.scalars(select(m.Host).where(m.Host.id.in_([o.host_id for o in objects])))}
        playbooks = simple_playbooks(session, list({h.playbook_id for h in hosts.values()}))
        return [self._shape(session, o, playbooks) for o in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        host = session.get(m.Host, obj.host_id)
        return self._shape(session, obj, simple_playbooks(session, [host.playbook_id] if host else []))
