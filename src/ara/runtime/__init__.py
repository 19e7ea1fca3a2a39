"""The agent runtime: sessions (a sandboxed workspace per user), the tools that act in it and the model loop."""
