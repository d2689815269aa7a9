"""The engine: plans a graph, starts and continues runs, executes them with a journal."""

from .lifecycle import Execution, Program, continue_run, new_run_id, recorded_program, start_run
from .plan import NodePlan, Plan, build_plan, find_plan_errors
from .recovery import Rehydrated, rehydrate
from .run import Run, TaskView
from .runner import Engine, Outcome

__all__ = [
    "Engine",
    "Execution",
    "NodePlan",
    "Outcome",
    "Plan",
    "Program",
    "Rehydrated",
    "Run",
    "TaskView",
    "build_plan",
    "continue_run",
    "find_plan_errors",
    "new_run_id",
    "recorded_program",
    "rehydrate",
    "start_run",
]
