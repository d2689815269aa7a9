"""What the journal says about runs, for every face that shows them.

The command line shows runs through this package, and a web view will too;
neither reads a journal's tables or parses its text.  :func:`list_runs` gives
a line per run; :func:`describe_run` loads one run once and answers the rest
from it: its tasks (the unreached ones included), counts by state, the
failures and where they were reached from, the tasks running or cut off,
what ``resume`` or ``retry`` would do, its recorded graph and event sources.
"""

from .runs import (
    ChangeSet,
    ResumePlan,
    RunDetail,
    RunSummary,
    describe_run,
    list_runs,
    recorded_workflow_path,
    resolve_run_id,
    resume_plan,
    run_summary,
)

__all__ = [
    "ChangeSet",
    "ResumePlan",
    "RunDetail",
    "RunSummary",
    "describe_run",
    "list_runs",
    "recorded_workflow_path",
    "resolve_run_id",
    "resume_plan",
    "run_summary",
]
