"""Runs playbook runs: the state machine, the executor protocol, workers and the scheduler."""
