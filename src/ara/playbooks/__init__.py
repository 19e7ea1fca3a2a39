"""Playbook definitions and runs (Mission Control's playbooks): spec, parameters, approvals, actions, artifacts."""
