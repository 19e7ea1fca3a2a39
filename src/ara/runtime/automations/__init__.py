"""Automations: schedules (cron, every, one-shot ``at``) a user stores, each firing a chat turn in their runtime
session as a run on the engine's ``agents`` queue."""
