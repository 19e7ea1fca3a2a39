"""The web UI's plumbing: templates and rendering (``pages``), who is looking (``guards``), forms' CSRF
protection (``csrf``) and the login cookie (``cookies``). Pages live in ``ara.server.routes.ui``."""
