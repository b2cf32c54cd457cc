"""What an auto-step plug-in imports: the context a step reads, the result it returns and the
failure it may raise (docs/catalog.md, "Auto-step plug-ins"; examples/plugin/).

A plug-in is a function registered under the entry-point group ``ordertower.auto_steps``
(the entry point's name is the step's name, as scenarios write it in ``step:``)::

    async def reserve_number(ctx: StepContext) -> StepResult:
        ...
        return StepResult(output={"msisdn": number})
"""

from .engine.auto_steps import StepContext, StepFailed, StepItem, StepLine, StepOrder, StepResult
from .engine.steps import GROUP

__all__ = ["GROUP", "StepContext", "StepFailed", "StepItem", "StepLine", "StepOrder", "StepResult"]
