from ara_sdk import App, Secret, entrypoint, fastapi_endpoint, file, invoke, runtime, sandbox, schedule

app = App(
    "digest-bot",
    runtime_profile=runtime(
        model="openai/gpt-4o-mini",
        env={"GREETING": "hi"},
        secrets=[Secret.from_dict({"API_TOKEN": "s3cret"})],
        files=[file("notes.txt", "hello")],
        startup=entrypoint("echo ready"),
    ),
)


@app.tool()
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@app.agent(
    entrypoint=True,
    skills=["add", "write_file"],
    handoff_to=["helper"],
    schedules=[schedule.every(seconds=120, run=invoke.agent("digest", input={"x": 1}))],
    sandbox=sandbox(policy="dedicated"),
)
@fastapi_endpoint(method="POST", label="hook", auth="hmac")
def digest(input: dict) -> str:
    return f"Summarize {input}"


@app.agent()
def helper(input: dict) -> str:
    return "help"


@app.schedule(at=["09:30", "2030-01-01T10:00:00Z"])
@app.agent()
def morning(input: dict) -> str:
    return "morning"
