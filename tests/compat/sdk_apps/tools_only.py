"""An app of scheduled tools and no agent: the manifest hangs them on a ``scheduled-jobs`` agent."""

from ara_sdk import App, invoke

app = App("tools-only")


@app.schedule(cron="0 3 * * *", timezone="Asia/Tokyo")
@app.tool()
def cleanup(days: int = 7) -> str:
    """Delete old files."""
    return f"cleaned {days}"


@app.tool(id="report")
@app.schedule(at=["2030-05-05T05:05:00Z"], run=invoke.tool("report", args={"full": True}))
def make_report(full: bool = False) -> dict:
    return {"full": full}
