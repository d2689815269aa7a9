"""Failure classes an event can raise to say how its failure should be treated.

* :class:`TransientError`: worth another attempt (retried while attempts
  remain, even if the retry policy's ``retry_on`` would not match);
* :class:`PermanentError`: retrying cannot help; the task fails now;
* :class:`NeedsOperator`: a person must act first (refill the account,
  approve the change); the run stops starting tasks, lets running ones
  finish and ends PAUSED with the reason.  ``volnux runs resume`` continues
  it, running the paused task again.

Raise them with ``from`` to keep the original cause::

    except requests.Timeout as exc:
        raise volnux.TransientError("payment API timed out") from exc
"""

from __future__ import annotations

__all__ = ["NeedsOperator", "PermanentError", "TransientError"]


class TransientError(Exception):
    """A failure that another attempt may not meet (retried while attempts remain)."""


class PermanentError(Exception):
    """A failure that no retry can fix: the task fails at once."""


class NeedsOperator(Exception):
    """A failure only a person can clear: the run pauses, resumable, with this reason."""
