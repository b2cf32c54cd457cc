"""The auto steps this version of ordertower offers, by name: one explicit list, read by
catalog validation (a scenario may name only these) and by the executors."""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from ..domain.planning import ASSETIZE_STEP
from .auto_steps import AutoStep, assetize
from .plan_order import PLAN_ORDER_STEP, plan_order

BUILTIN_STEPS: Mapping[str, AutoStep] = MappingProxyType({
    ASSETIZE_STEP: assetize,  # record what a bundle changed in the installed base
    PLAN_ORDER_STEP: plan_order,  # decompose and plan a large order after its acknowledgement
})


def registered_steps() -> Mapping[str, AutoStep]:
    return BUILTIN_STEPS
