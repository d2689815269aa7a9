"""The engine: plans a graph and executes it as a journaled state machine."""

from .plan import NodePlan, Plan, build_plan, find_plan_errors
from .run import Run, TaskView
from .runner import Engine, Outcome, Replay

__all__ = [
    "Engine",
    "NodePlan",
    "Outcome",
    "Plan",
    "Replay",
    "Run",
    "TaskView",
    "build_plan",
    "find_plan_errors",
]
