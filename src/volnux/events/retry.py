"""Retry policy: how many attempts, how long between them, which errors count.

Pure: nothing here sleeps or touches the clock; the runner asks
:meth:`RetryPolicy.delay` and :meth:`RetryPolicy.should_retry`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..errors import ResultMissing, WorkerLost
from .failures import PermanentError, TransientError

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how an event's failed attempt is tried again.

    The defaults make one attempt and no retry.  ``A * N`` in Pointy-lang
    replaces ``max_attempts`` only; everything else still applies.
    """

    #: Attempts in total, the first one included (1 = never retry).
    max_attempts: int = 1
    #: Seconds before the second attempt.
    delay_s: float = 0.0
    #: Each later delay is the previous one times this (1.0 = fixed backoff).
    backoff: float = 1.0
    #: No delay is ever longer than this many seconds.
    max_delay_s: float = 300.0
    #: Up to this fraction of each delay is added at random (0.1 = +0-10 %).
    jitter: float = 0.0
    #: Only these exception types are retried (empty = every exception).
    retry_on: tuple[type[BaseException], ...] = ()
    #: These exception types are never retried, even if ``retry_on`` matches.
    never_retry_on: tuple[type[BaseException], ...] = ()
    #: A returned :class:`volnux.Failure` is retried too when True.
    retry_failures: bool = False
    #: Seconds one attempt may take before it counts as failed (None = no limit).
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("delays cannot be negative")
        if self.backoff < 1.0:
            raise ValueError(f"backoff must be at least 1.0, got {self.backoff}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be between 0 and 1, got {self.jitter}")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")

    def should_retry(self, attempt: int, error: BaseException | None) -> bool:
        """True if the failed ``attempt`` (1-based) should be followed by another.

        ``error`` is the exception raised, or None for a returned failure.
        A :class:`~volnux.PermanentError` is never retried and a
        :class:`~volnux.TransientError` always is, while attempts remain; so is
        a :class:`~volnux.WorkerLost` (the process running the attempt died).
        A :class:`~volnux.ResultMissing` (a result it reads is gone from the
        result store) is not: it is made again by ``runs retry --from`` its maker.
        """
        if attempt >= self.max_attempts:
            return False
        if error is None:
            return self.retry_failures
        if isinstance(error, PermanentError | ResultMissing):
            return False
        if isinstance(error, TransientError | WorkerLost):
            return True
        if self.never_retry_on and isinstance(error, self.never_retry_on):
            return False
        return not self.retry_on or isinstance(error, self.retry_on)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based) before the next one."""
        if self.delay_s <= 0:
            return 0.0
        base = min(self.delay_s * self.backoff ** (attempt - 1), self.max_delay_s)
        if self.jitter:
            base += base * self.jitter * (rng or random).random()
        return min(base, self.max_delay_s)
