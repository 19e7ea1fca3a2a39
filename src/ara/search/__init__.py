"""Search across everything (issue 14): one query finds failed results, playbook runs and app runs by name, label,
host or status. ``syntax`` parses the box's text, one module per kind reads its domain's tables with bounded
queries and that domain's visibility rule, and ``service`` groups the hits. Nothing here knows about HTTP."""
