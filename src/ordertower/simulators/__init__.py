"""Simulators of the fulfillment systems (warehouse, network, billing, field-service, market).

In-memory HTTP stand-ins with knobs for latency, failures, outages and asynchronous
replies; see :func:`create_simulators_app`.
"""

from ordertower.simulators.app import CallbackDispatcher, create_simulators_app
from ordertower.simulators.state import DEFAULT_SYSTEMS, SETTING_NAMES, Settings

__all__ = [
    "DEFAULT_SYSTEMS",
    "SETTING_NAMES",
    "CallbackDispatcher",
    "Settings",
    "create_simulators_app",
]
