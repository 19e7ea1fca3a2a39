"""Prometheus metrics of one app instance: a registry of its own (tests build many apps; the global one would mix
them), a collector that reads the database at every scrape (``metrics_sql``), the embedded executor's heartbeat,
and the HTTP latency histogram the ``HttpMetrics`` middleware fills."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from ara.db.session import unit_of_work
from ara.lifecycle.states import RunStatus
from ara.records.status import SHOWN_RESULT_STATUSES, PlaybookStatus
from ara.server import metrics_sql as sql

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from ara.server.state import AppState

log = logging.getLogger("ara.server.metrics")
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _by(
    name: str, documentation: str, label: str, values: Mapping[str, float], known: Iterable[str] = ()
) -> GaugeMetricFamily:
    """One gauge per label value; every ``known`` value is present (0 when none), so a series never vanishes."""
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted({**dict.fromkeys(known, 0), **values}.items()):
        family.add_metric([key], value)
    return family


class DatabaseCollector(Collector):
    """What the database says at scrape time; ``ara_database_up`` 0 (and nothing else) when it cannot be read."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    def describe(self) -> list[Metric]:
        return []  # nothing is read at registration

    def collect(self) -> Iterator[Metric]:
        try:
            families = self._read()
        except SQLAlchemyError:
            log.exception("metrics: the database could not be read")
            families = []
        up = GaugeMetricFamily("ara_database_up", "Whether this scrape could read the database.")
        up.add_metric([], 1 if families else 0)
        yield up
        yield from families
        yield from self._embedded_heartbeat()

    def _read(self) -> list[Metric]:
        with unit_of_work(self.state.reader) as session:
            families: list[Metric] = [
                _by(
                    "ara_records_playbooks",
                    "Recorded playbooks by status.",
                    "status",
                    sql.counts(session, sql.m.Playbook.status),
                    PlaybookStatus,
                ),
                _by(
                    "ara_records_results",
                    "Recorded results by status (changed and ignored as shown).",
                    "status",
                    sql.result_counts(session),
                    SHOWN_RESULT_STATUSES,
                ),
                _by(
                    "ara_playbook_runs",
                    "Playbook runs by status.",
                    "status",
                    sql.counts(session, sql.PlaybookRun.status),
                    RunStatus,
                ),
                self._durations(sql.duration_histogram(session)),
                _by(
                    "ara_runs_due",
                    "Runs due and not yet taken by an executor, per queue.",
                    "queue",
                    sql.due_runs(session),
                ),
                _by(
                    "ara_app_runs",
                    "App (agent) runs by status.",
                    "status",
                    sql.counts(session, sql.AppRun.status),
                    RunStatus,
                ),
                _by(
                    "ara_agent_tool_calls",
                    "Agents' tool calls (app runs and runtime sessions) by status.",
                    "status",
                    sql.tool_calls(session),
                ),
            ]
            if self.state.engine.dialect.name == "postgresql":
                families.append(
                    _by(
                        "ara_queue_jobs",
                        "procrastinate jobs waiting (todo and due) per queue.",
                        "queue",
                        sql.procrastinate_jobs(session),
                    )
                )
                families.append(
                    _by(
                        "ara_worker_heartbeat_age_seconds",
                        "Seconds since each worker's last heartbeat.",
                        "worker",
                        sql.procrastinate_heartbeats(session),
                    )
                )
        return families

    @staticmethod
    def _durations(histograms: dict[str, tuple[list[int], int, float]]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(
            "ara_playbook_run_duration_seconds", "Durations of ended playbook runs, by final status.", labels=["status"]
        )
        for status, (cumulative, count, total) in sorted(histograms.items()):
            buckets = [(str(bound), float(n)) for bound, n in zip(sql.DURATION_BUCKETS, cumulative, strict=True)]
            family.add_metric([status], buckets + [("+Inf", float(count))], sum_value=total)
        return family

    def _embedded_heartbeat(self) -> Iterator[Metric]:
        """SQLite: the embedded executor's clock in this process beats once a second."""
        beat = getattr(self.state.executor, "last_beat", None)
        if self.state.engine.dialect.name != "postgresql" and beat is not None:
            yield _by(
                "ara_worker_heartbeat_age_seconds",
                "Seconds since each worker's last heartbeat.",
                "worker",
                {"embedded": max(time.monotonic() - beat, 0.0)},
            )


class Metrics:
    """One app instance's registry: the database collector and the HTTP request histogram."""

    def __init__(self, state: AppState) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DatabaseCollector(state))
        self.requests = Histogram(
            "ara_http_request_duration_seconds",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
