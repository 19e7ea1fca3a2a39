"""The tools an agent calls in its session: builtins by name, app tools (next) with their manifest schema."""
