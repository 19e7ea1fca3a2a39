"""Helpers shared by the tests: a real server on 127.0.0.1, settings, databases."""
