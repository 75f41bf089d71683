"""Shared machinery of the sandbox: clock, config, world, limits, faults, log.

Nothing here imports Django: the sandbox runs inside the Django test process,
inside a process with another settings module, or on its own.
"""
