"""A child process for the batch crash harness.

    python batch_child.py run STORE PARENT DATA EFFECTS KILL_AFTER
    python batch_child.py resume STORE PARENT

``run`` starts a batch run (id PARENT) of ``batch_events``' workflow over the
lines of DATA, 5 lines a batch, 2 batches at once, every journal write
counted; after the KILL_AFTER-th write (0 = never) the process SIGKILLs
itself.  It prints the number of writes and the run's state when it ends.
``resume`` continues the batch run in a fresh process from the journal alone.
``VOLNUX_BATCH_CRASH_EXECUTOR`` names the executor every event runs on (default:
threads); on ``process`` a batch's three tasks go to a worker in one call
(chains, a batch run's default).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.batch import batch_events
from tests.engine.crash_child import KillingJournal
from volnux.store import open_store
from volnux.workflow import Workflow


def main() -> None:
    mode, store, parent = sys.argv[1:4]
    executor = os.environ.get("VOLNUX_BATCH_CRASH_EXECUTOR")
    wf = Workflow.from_text(batch_events.WORKFLOW, [batch_events], default_executor=executor)
    if mode == "run":
        data, effects, kill_after = sys.argv[4], sys.argv[5], int(sys.argv[6])
        journal = KillingJournal(open_store(store), kill_after)
        run = wf.run_batches(
            data,
            batch_size=5,
            parallel=2,
            store=journal,  # type: ignore[arg-type]
            inputs={"effects": effects},
            run_id=parent,
        )
        print(journal.writes, run.status)
    else:
        run = Workflow.resume_batches(parent, store=open_store(store), workflow=wf)
        print(run.status)


if __name__ == "__main__":
    main()
