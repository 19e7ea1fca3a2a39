"""The ``ara`` command line: one module per command group."""
