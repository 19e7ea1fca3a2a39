"""Ara: records, playbook runs and agent apps on one self-hosted server."""

__version__ = "0.1.0"
