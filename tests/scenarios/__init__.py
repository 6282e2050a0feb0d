"""Scenarios: the product used as its users use it, end to end, against real processes (the
server, the worker, the CLI, a browser) rather than one module at a time."""
