"""The engine: plans a graph and executes it as a journaled state machine."""

from .plan import NodePlan, Plan, build_plan, find_plan_errors
from .recovery import Rehydrated, rehydrate
from .run import Run, TaskView
from .runner import Engine, Outcome

__all__ = [
    "Engine",
    "NodePlan",
    "Outcome",
    "Plan",
    "Rehydrated",
    "Run",
    "TaskView",
    "build_plan",
    "find_plan_errors",
    "rehydrate",
]
