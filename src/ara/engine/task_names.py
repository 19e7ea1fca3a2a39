"""The procrastinate task each kind of run's jobs run (one activation of a run of that kind). Spelled apart from
``engine.deferral`` so the embedded engine (``engine.kinds``) names them without loading procrastinate."""

from __future__ import annotations

from ara.lifecycle.executor import APP, AUTOMATION, PLAYBOOK

TASKS = {PLAYBOOK: "ara.run.advance", AUTOMATION: "ara.agent.advance", APP: "ara.app.advance"}
