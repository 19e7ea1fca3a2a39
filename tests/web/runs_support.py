"""What the playbook-run UI tests share: definitions made through the real API (basic auth as admin), and an
httpx client logged in through the real login form, carrying its CSRF token."""

from __future__ import annotations

import time
from typing import Any

import httpx
import yaml

from tests.web.conftest import Site, form_login

# Needs bob's approval, takes a required parameter and a duration, and leaves two artifacts.
DEPLOY = """
title: Deploy web
description: Roll the web tier out to an environment.
parameters:
  - {name: replicas, label: Replicas, required: true}
  - {name: window, label: Maintenance window, type: duration, default: "5m"}
  - name: env
    label: Environment
    type: list
    default: staging
    options: [{label: Staging, value: staging}, {label: Production, value: prod}]
  - {name: dry_run, label: Dry run, type: checkbox, default: "false"}
approval:
  type: any
  approvers: {people: [bob]}
actions:
  - name: deploy
    exec:
      script: |
        echo "deploying {{ params.replicas }} replicas to {{ params.env }}" \
          "(dry run {{ params.dry_run }}) as {{ user.name }}"
        printf 'report for %s\\n' "{{ params.env }}" > report.txt
      artifacts: [{path: /dev/stdout}, {path: "report.txt"}]
"""

# Applies to Deployments only; its parameter's default reads the resource it runs on.
RESTART = """
title: Restart deployment
configs: [{types: [Deployment]}]
parameters:
  - {name: target, label: Target, default: "{{ config.name }}"}
actions:
  - name: restart
    exec:
      script: echo "restarting {{ params.target }}"
"""

# No approval: starts at once and waits long enough to be cancelled from the page.
SLOW = """
title: Slow job
actions:
  - name: wait
    exec:
      script: sleep 30
"""


def define(site: Site, name: str, spec: str) -> str:
    document = {"kind": "Playbook", "metadata": {"name": name}, "spec": yaml.safe_load(spec)}
    answer = httpx.post(f"{site.url}/playbook", json=document, auth=("admin", site.password), timeout=30)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def api_run(site: Site, run_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{site.url}/playbook/run/{run_id}/status", auth=("admin", site.password), timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def wait_for(site: Site, run_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        view = api_run(site, run_id)
        if view["run"]["status"] in statuses:
            return view
        assert time.monotonic() < deadline, f"run stuck in {view['run']['status']}"
        time.sleep(0.1)


class WebUser:
    """A browser-like client: the login cookie and the CSRF token every form sends."""

    def __init__(self, site: Site, username: str) -> None:
        self.site = site
        self.http = httpx.Client(base_url=site.url, timeout=30)
        self.token = form_login(self.http, username, site.password)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(path, data={"csrf_token": self.token, **(data or {})})

    def close(self) -> None:
        self.http.close()


# A secret parameter beside a checked one: the secret never comes back to the page.
SECRET = """
title: Rotate token
parameters:
  - {name: token, label: Token, type: secret, required: true}
  - {name: ttl, label: Lifetime, type: duration, default: "1h"}
actions:
  - name: rotate
    exec:
      script: echo rotated
"""

# Fails twice: one action, two attempts, each with its output.
FLAKY = """
title: Flaky job
actions:
  - name: probe
    retry: {limit: 1, duration: 0s}
    exec:
      script: |
        echo "probing"
        echo "connection refused" >&2
        exit 3
"""
