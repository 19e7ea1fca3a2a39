"""Every records resource described once: writable fields, filters, orderings and wire shapes.

The server exposes each ``Resource`` under ``/api/v1/<name>`` with list, create, retrieve, update,
partial update and delete, as ARA's Django REST framework viewsets do.
"""

from __future__ import annotations

from ara.records.resources.base import Resource
from ara.records.resources.files import Files, Records
from ara.records.resources.hosts import Hosts, LatestHosts
from ara.records.resources.playbooks import Labels, Playbooks
from ara.records.resources.plays import Plays, Tasks
from ara.records.resources.results import Results

RESOURCES: dict[str, Resource] = {
    r.name: r for r in (Labels(), Playbooks(), Plays(), Tasks(), Hosts(), LatestHosts(), Results(), Files(), Records())
}

__all__ = ["RESOURCES", "Resource"]
