"""Roles of API keys, from least to most: each role may do everything the ones before it may.

- ``viewer``: read.
- ``agent``: submit, amend and cancel orders; claim and complete its own tasks.
- ``operator``: fallout, other people's tasks, systems, forced changes past the point of no return.
- ``admin``: keys and catalog deployment.
"""

from __future__ import annotations

ROLES: tuple[str, ...] = ("viewer", "agent", "operator", "admin")


def is_role(name: str) -> bool:
    return name in ROLES


def at_least(role: str | None, least: str) -> bool:
    """Whether ``role`` may do what needs ``least``. An unknown role may do nothing."""
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(least)
