"""The Graph emulator: a stateful stand-in for the Microsoft Graph v1.0 endpoints Rapport uses, speaking Graph's
wire format, served over a loopback socket (``serve_emulator``) or in-process (``emulator_transport``).
See ``docs/emulator.md``.
"""

from graph_sync.emulator.auth import ALL_ROLES, RegisteredApp
from graph_sync.emulator.config import EmulatorConfig
from graph_sync.emulator.credential import EmulatorCredential, TokenRequestFailed
from graph_sync.emulator.errors import EmulatorError, TenantDirectoryError, UnknownItem
from graph_sync.emulator.faults import Fault
from graph_sync.emulator.observe import Counters, RequestRecord
from graph_sync.emulator.server import create_app, serve_emulator
from graph_sync.emulator.state import EmulatorState
from graph_sync.emulator.transport import emulator_transport

__all__ = [
    "ALL_ROLES", "Counters", "EmulatorConfig", "EmulatorCredential", "EmulatorError", "EmulatorState", "Fault",
    "RegisteredApp", "RequestRecord", "TenantDirectoryError", "TokenRequestFailed", "UnknownItem", "create_app",
    "emulator_transport", "serve_emulator",
]
