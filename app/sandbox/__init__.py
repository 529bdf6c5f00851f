"""Standalone emulator of the CloudCruise vault REST API (draft docstring)."""

from .faults import FaultInjector
from .server import RunningSandbox, start_sandbox

__all__ = ["FaultInjector", "RunningSandbox", "start_sandbox"]
