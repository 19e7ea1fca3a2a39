# ruff: noqa: UP045, B006, B008 - typing.Optional, mutable and call defaults are what the schemas must map
"""A sample app using every decorator and builder of ara_sdk 0.1.46 (tests/compat/test_sdk_manifest.py loads it
with the real SDK and with ours, from a directory holding ``.env`` and ``helper.sh``)."""

from typing import Optional

from ara_sdk import (
    App,
    Secret,
    agno_adapter,
    command_adapter,
    entrypoint,
    event_envelope,
    fastapi_endpoint,
    file,
    git_artifact,
    invoke,
    langchain_adapter,
    langgraph_adapter,
    local_file,
    runtime,
    sandbox,
    schedule,
    tarball_artifact,
)

app = App(
    "every-feature",
    runtime_profile=runtime(
        files=[
            file("notes.txt", "hello"),
            file("bin/run.sh", "#!/bin/sh\necho run\n", executable=True),
            local_file("helper.sh"),
            local_file("helper.sh", "tools/h.sh", executable=False),
        ],
        startup=entrypoint("./bin/run.sh", shell="sh", args=["--fast", " ", "x "]),
        image="python:3.12-slim",
        model="openai/gpt-4o-mini",
        memory_mb=512,
        volume_size_mb=1024,
        python_packages=["requests", " ", "rich "],
        node_packages=["left-pad"],
        env={"GREETING": "hi", "EMPTY": None, "COUNT": 3},
        secrets=[
            Secret.from_name("stripe", required_keys=["STRIPE_KEY", "STRIPE_KEY"]),
            Secret.from_dict({"API_TOKEN": "s3cret"}),
            Secret.from_dict({"API_TOKEN": "other"}),
            Secret.from_dict({"API_TOKEN": "s3cret"}),
            Secret.from_dotenv(".env"),
            "plain-name",
            {"name": "dict-ref", "required_keys": ["A_KEY"]},
            Secret.from_name("stripe"),
        ],
    ),
    interfaces={
        "events": event_envelope(
            "ticket.created",
            source="zendesk",
            channel="webhook",
            message="new ticket",
            payload={"id": 7},
            metadata={"run_id": "run-fixed-1", "tenant": "acme"},
        ),
        "events_keyed": event_envelope("ping", metadata={"run_id": "r1", "idempotency_key": "k1"}),
    },
    agent={
        "adapters": [
            command_adapter(
                "node worker.js",
                framework="custom",
                transport="http",
                args=["-v"],
                artifact=tarball_artifact("https://example.org/w.tgz", strip_prefix="w/"),
                env={"MODE": "x", " ": "dropped"},
            ),
            langgraph_adapter(artifact=git_artifact("https://example.org/g.git", ref="v1", subdir="agents")),
            langchain_adapter("python3 lc.py", env={"EXTRA": 1}),
            agno_adapter(args=["--once"]),
        ],
    },
)


@app.tool()
def add(a: int, b: int = 2) -> int:
    """Add two numbers."""
    return a + b


@app.tool(id="lookup", parameters={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]})
def lookup_impl(
    q,
    *rest,
    limit: Optional[int] = None,
    tags: list[str] = [],
    opts: dict = {},
    ratio: float = 0.5,
    flag: bool = False,
    when=object(),
    **kw,
):
    return {"q": q}


@app.schedule(cron="*/15 * * * *", at=["07:05"], timezone="Europe/Berlin", run=invoke.tool("lookup", args={"q": "x"}))
@app.tool()
def nightly(day: str) -> str:
    return day


@app.agent(
    entrypoint=True,
    skills=["add", "lookup", "write_file", "add", " "],
    handoff_to=["helper", "helper", "triage"],
    schedules=[
        schedule.every(seconds=120, run=invoke.agent("digest", input={"x": 1})),
        schedule.cron(
            expr="0 8 * * 1-5",
            run=invoke.agent("digest", input={"message": "weekday brief"}),
            timezone="America/New_York",
        ),
        schedule.cron(expr="30 6 * * *", run=invoke.tool("add", args={"a": 1, "b": 2}), id="tool-morning"),
        schedule.cron(expr="0 12 * * *", run=invoke.agent("helper", input="say hi")),
    ],
    runtime=runtime(model="openai/gpt-4o", env={"AGENT_ONLY": "1"}, secrets=[Secret.from_dict({"AGENT_TOKEN": "t"})]),
    sandbox=sandbox(
        policy="dedicated",
        max_concurrency=3,
        idle_ttl_minutes=30,
        key="digest-box",
        spawn_to=["helper"],
        max_spawn_depth=2,
        child_policy="ephemeral",
        child_runtime=runtime(secrets=[Secret.from_dict({"CHILD": "c"})]),
    ),
)
@fastapi_endpoint(method="post", label="Hook Digest", auth="hmac")
def digest(input: dict) -> str:
    """Summarise the input for the team."""
    return f"Summarize {input}"


@fastapi_endpoint(method="GET", path="status//now", auth="header")
@app.agent(always_on=False, sandbox=sandbox(allow_spawn=True))
def helper(input: dict) -> str:
    return "help"


@app.agent("triage", sandbox=sandbox(policy="ephemeral", allow_spawn=False, spawn_to=["x"]))
@fastapi_endpoint(label="triage", auth="bearer", auth_secret_env="TRIAGE_SECRET", docs=True)
def triage_prompt(input) -> "str":
    return "triage"


@fastapi_endpoint(auth="header", auth_header_name="X-Custom")
@app.agent(id="open")
def open_endpoint(input: dict) -> str:
    return "open"


@app.agent()
@fastapi_endpoint(method="PUT")
def public(input: dict) -> str:
    return "public"


@app.schedule(at=["09:30", "2030-01-01T10:00:00Z", "2031-06-15T08:45:00+02:00", "0 22 * * 5"])
@app.agent()
def morning(input: dict) -> str:
    return "morning"


@app.agent()
@app.schedule(id="Evening Run", cron="0 18 * * *", run=invoke.agent("digest", input={"message": "evening"}))
@app.schedule(at="2030-02-02T02:02:00")
def evening(input: dict) -> str:
    return "evening"


@app.agent()
def helper(input: dict) -> str:  # noqa: F811 - a redeclared agent replaces the first in place
    """Redeclared helper."""
    return "help again"
