"""What a journal remembers of long events is read once a second, not once a run."""

from __future__ import annotations

from pathlib import Path

from volnux.engine import durations
from volnux.store import SQLiteJournal


def test_a_journals_answer_is_reused_briefly_and_forgotten_when_recorded(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SQLiteJournal(path) as ours, SQLiteJournal(path) as theirs:
        assert durations.long_events(ours, ["Nap@1", "Quick@1"]) == frozenset()
        theirs.record_durations({"Nap@1": 5.0}, 1.0)  # another process's run
        # Within RECALL_S this process asks its journal no more...
        assert durations.long_events(ours, ["Quick@1", "Nap@1"]) == frozenset()
        # ...except for other events,
        assert durations.long_events(ours, ["Nap@1"]) == {"Nap@1"}
        # or once its own run recorded durations,
        theirs.record_durations({"Nap@1": 0.0}, 2.0)
        durations.forget(ours)
        assert durations.long_events(ours, ["Nap@1"]) == frozenset()
        # or once RECALL_S passed.
        theirs.record_durations({"Nap@1": 5.0}, 3.0)
        assert durations.long_events(ours, ["Nap@1"]) == frozenset()
        durations.RECALL_S, was = 0.0, durations.RECALL_S
        try:
            assert durations.long_events(ours, ["Nap@1"]) == {"Nap@1"}
        finally:
            durations.RECALL_S = was
