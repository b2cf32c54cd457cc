"""The auto steps this installation offers, by name: every Python entry point of the group
``ordertower.auto_steps`` (the built-in ``assetize`` and ``plan-order`` are registered in
ordertower's own pyproject.toml, as a plug-in registers its steps in its own). Read once per
process, by catalog validation (a scenario may name only these) and by the executors.

A step that cannot be loaded (its module fails to import, its object is not callable, its
name is not a valid id or is registered twice) is left out and its reason kept, so that a
catalog naming it is refused with that reason (docs/catalog.md, "Auto-step plug-ins").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Iterable

from ..domain.catalog import ID_PATTERN
from ..domain.planning import ASSETIZE_STEP
from .auto_steps import AutoStep
from .plan_order import PLAN_ORDER_STEP

GROUP = "ordertower.auto_steps"
BUILTIN = (ASSETIZE_STEP, PLAN_ORDER_STEP)  # the engine plans these itself


class StepsMissing(RuntimeError):
    """ordertower's own entry points are not installed (run from a source tree)."""


class StepRegistry(Mapping[str, AutoStep]):
    """Steps by name, with where each came from and why some could not be loaded."""

    def __init__(self, steps: Mapping[str, AutoStep], origins: Mapping[str, str],
                 unavailable: Mapping[str, str]):
        self._steps = dict(steps)
        self.origins = dict(origins)  # name -> "distribution: module:function"
        self.unavailable = dict(unavailable)  # name -> why it could not be loaded

    def __getitem__(self, name: str) -> AutoStep:
        return self._steps[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)


def _origin(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name if dist is not None else '?'}: {ep.value}"


def load_steps(found: Iterable[EntryPoint]) -> StepRegistry:
    steps: dict[str, AutoStep] = {}
    origins: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    by_name: dict[str, list[EntryPoint]] = {}
    for ep in found:
        by_name.setdefault(ep.name, []).append(ep)
    for name, eps in sorted(by_name.items()):
        distinct = {_origin(ep) for ep in eps}
        if len(distinct) > 1:
            unavailable[name] = "registered more than once (" + "; ".join(sorted(distinct)) + ")"
            continue
        ep = eps[0]
        if not re.match(ID_PATTERN, name):
            unavailable[name] = f"'{name}' is not a valid step name ({_origin(ep)})"
            continue
        try:
            step = ep.load()
        except Exception as exc:  # a broken plug-in must not stop the others
            unavailable[name] = f"plug-in {_origin(ep)} failed to load: {type(exc).__name__}: {exc}"
            continue
        if not callable(step):
            unavailable[name] = f"plug-in {_origin(ep)} is not callable"
            continue
        steps[name] = step
        origins[name] = _origin(ep)
    return StepRegistry(steps, origins, unavailable)


@cache
def registered_steps() -> StepRegistry:
    """Every step installed, found once per process."""
    registry = load_steps(entry_points(group=GROUP))
    missing = [name for name in BUILTIN if name not in registry]
    if missing:
        reasons = [f"{n}: {registry.unavailable[n]}" for n in missing if n in registry.unavailable]
        if reasons:
            raise StepsMissing("built-in auto steps unavailable: " + "; ".join(reasons))
        raise StepsMissing(f"the built-in auto steps {', '.join(missing)} are not registered "
                           f"(entry point group {GROUP}): install ordertower (uv sync, or "
                           "pip install -e .) rather than running it from a source tree")
    return registry
