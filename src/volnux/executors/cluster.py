"""The Dask executor: attempts on a Dask cluster, the engine and journal here.

``executor = "dask"`` hands attempts to the cluster (the attempts of one engine
step together, as one ``distributed.Client.map``; a lone one with
``Client.submit``) and hears each end through ``add_done_callback``; the engine journals as it does
for any executor (RUNNING before the submit, the result before any successor
is submitted).  The cluster is the one named by ``VOLNUX_DASK_ADDRESS`` or
``DASK_SCHEDULER_ADDRESS`` (``tcp://HOST:PORT``), else ``local``: a
``LocalCluster`` of worker processes on loopback, started at the first submit
and stopped with the executor.

What crosses is what crosses to a process worker: the runner sends the event
pickled once and the context as a plain tuple (see ``run_sent``), so an event
of a module must be importable on the workers.  An event from a ``.py`` file
(or a git registry) is shipped: :meth:`DaskExecutor.ship_module` registers a
worker plugin (:mod:`.daskplugin`) that loads the file's text on every worker,
including those that join later.  A worker that dies mid-attempt has its attempt run elsewhere by
Dask (up to its ``allowed-failures``); past that the attempt fails with
:class:`~volnux.errors.WorkerLost`, which retry policies treat as transient.

``dask[distributed]`` is the ``dask`` extra; without it, making this executor
says how to install it.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

from ..errors import WorkerLost
from .base import Capacity, Done, Resize, call_done, report_size, usable_cpus

__all__ = ["ADDRESS_ENV", "INSTALL_HINT", "DaskExecutor", "ResourceUnavailable"]

#: Where the cluster is named, first that is set (else a local cluster).
ADDRESS_ENV = ("VOLNUX_DASK_ADDRESS", "DASK_SCHEDULER_ADDRESS")

INSTALL_HINT = "the dask executor needs Dask: pip install 'volnux[dask]'"

log = logging.getLogger("volnux.executors")

#: Seconds the sender thread waits before it sends submits no one flushed.
SEND_AFTER_S = 0.002

#: Seconds an attempt waits for a worker with the resources it needs, by default.
DEFAULT_RESOURCE_WAIT_S = 30.0


class ResourceUnavailable(RuntimeError):
    """No worker of the cluster has the GPUs or memory an attempt needs."""


def _wait_from_environment() -> float:
    """``VOLNUX_DASK_RESOURCE_WAIT_S``, else the default; ValueError naming a bad one."""
    text = os.environ.get("VOLNUX_DASK_RESOURCE_WAIT_S", "").strip()
    if not text:
        return DEFAULT_RESOURCE_WAIT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also NaN
        raise ValueError(
            f"VOLNUX_DASK_RESOURCE_WAIT_S={text!r} is not a number of seconds (0 or more)"
        )
    return seconds


def _asked(resources: dict[str, float]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in sorted(resources.items()))


class _Submit(NamedTuple):
    """A submit waiting to be sent: the call, its answer, its key, what it needs."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    done: Done
    name: str
    resources: dict[str, float] | None

    def shape(self) -> tuple[Any, ...]:
        """What submits sent together as one map share."""
        return (self.fn, len(self.args), tuple(sorted((self.resources or {}).items())))


class DaskExecutor:
    """Runs calls on a Dask cluster: one named by address, or a local one of its own."""

    name = "dask"

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        on_resize: Resize | None = None,
        address: str | None = None,
        resource_wait_s: float | None = None,
        resources: dict[str, float] | None = None,
        restart_hung: bool | None = None,
    ) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        try:
            import distributed  # noqa: F401  (said now, not at the first submit)
        except ImportError:
            raise ImportError(INSTALL_HINT) from None
        found = address or next((os.environ[k] for k in ADDRESS_ENV if os.environ.get(k)), None)
        #: The scheduler's address, or ``local``.
        self.address = found or "local"
        #: Workers of a local cluster (one thread each); ignored for a named one.
        self.max_workers = max_workers or usable_cpus()
        self.on_resize = on_resize
        #: Seconds an attempt whose resources no worker has waits for one to join.
        self.resource_wait_s = (
            resource_wait_s if resource_wait_s is not None else _wait_from_environment()
        )
        #: What each worker of a local cluster declares (``{"GPU": 1}``).
        self.resources = dict(resources or {})
        #: Whether an attempt given up after its timeout while it runs has its
        #: worker restarted (``VOLNUX_DASK_RESTART_HUNG=1``); else it runs on.
        self.restart_hung = (
            restart_hung
            if restart_hung is not None
            else os.environ.get("VOLNUX_DASK_RESTART_HUNG", "").strip().lower()
            in ("1", "true", "yes", "on")
        )
        self._client: Any = None
        self._cluster: Any = None
        self._lock = threading.Lock()
        self._closed = False
        self._keys = itertools.count(1)
        self._prefix = f"volnux-{uuid.uuid4().hex[:8]}"
        self._shipped: set[str] = set()
        # The futures of the tasks not ended yet, by key (give_up finds them there).
        self._futures: dict[str, Any] = {}
        # (future, reply) of the tasks that ended, for the collector thread.
        self._arrived: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        # Submits not sent yet: the sender thread sends all that wait as one graph
        # (a group's 500 attempts: one message to the scheduler, not 500).
        self._pending: list[_Submit] = []
        self._pending_lock = threading.Lock()
        self._wake = threading.Event()

    def capacity(self) -> Capacity:
        """The cluster's worker threads (the local cluster's size before it starts)."""
        client = self._client
        if client is None:
            return Capacity(self.max_workers, in_process=False)
        workers = client.scheduler_info().get("workers", {})
        threads = sum(int(w.get("nthreads", 1)) for w in workers.values())
        return Capacity(threads or self.max_workers, in_process=False)

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done) -> None:
        """Send ``fn(*args)`` to the cluster; ``done`` hears the outcome."""
        self.submit_named(fn, args, done, f"{self._prefix}-{next(self._keys)}")

    def submit_named(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        done: Done,
        name: str,
        resources: dict[str, float] | None = None,
    ) -> None:
        """Like :meth:`submit`, the task keyed ``name`` on the cluster (the engine
        names an attempt ``RUN-NODE-ATTEMPT``: what the dashboard and logs show).

        ``resources`` (``{"GPU": 1}``) go to Dask: the task runs only on a worker
        that declared them.  When no worker has, the task waits
        :attr:`resource_wait_s` for one to join, then fails naming what is missing.

        The submit waits to be sent with the others made at the same time: the
        engine calls :meth:`flush` once it made a step's submits (a group's 500
        attempts go as one message to the scheduler, not 500).  A submit nobody
        flushes is sent by this executor's sender thread a moment later.
        """
        self._running_client()  # a cluster that cannot start says so here
        with self._pending_lock:
            self._pending.append(_Submit(fn, args, done, name, resources or None))
        self._wake.set()

    def flush(self) -> None:
        """Send every submit made so far, in this thread."""
        client = self._client
        with self._pending_lock:
            batch, self._pending = self._pending, []
        if batch:
            self._send_all(client, batch)

    def _send_pending(self, client: Any) -> None:
        """The sender thread: send the submits no one flushed (a moment after they
        were made: a step's flush usually comes first)."""
        wake, lock = self._wake, self._pending_lock
        while True:
            wake.wait()
            wake.clear()
            if not self._closed:
                time.sleep(SEND_AFTER_S)
            with lock:
                batch, self._pending = self._pending, []
            if batch:
                self._send_all(client, batch)
            elif self._closed:
                return

    def _send_all(self, client: Any, batch: list[_Submit]) -> None:
        """Send ``batch``: each run of submits of one function, arity and resources
        as one ``Client.map``."""
        for _, group in itertools.groupby(batch, key=_Submit.shape):
            self._send(client, list(group))

    def _send(self, client: Any, group: list[_Submit]) -> None:
        first = group[0]
        try:
            if len(group) == 1:
                futures = [
                    client.submit(
                        first.fn, *first.args, pure=False, key=first.name,
                        resources=first.resources,
                    )
                ]  # fmt: skip
            else:
                futures = client.map(
                    first.fn,
                    *zip(*(s.args for s in group), strict=True),
                    key=[s.name for s in group],
                    pure=False,
                    resources=first.resources,
                )
        except BaseException as exc:  # the client failed: each attempt hears why
            for item in group:
                call_done(item.done, None, exc)
            return
        for item, future in zip(group, futures, strict=True):
            self._watch(client, item, future)

    def _watch(self, client: Any, item: _Submit, future: Any) -> None:
        """Hear the end of ``future`` (the task of ``item``) on the collector thread."""
        name, resources = item.name, item.resources
        self._futures[name] = future
        # With resources, the end and the resource wait may both answer: once counts.
        reply: Callable[[Any, BaseException | None], None] = (
            _Once(item.done) if resources else partial(call_done, item.done)
        )
        arrived, futures = self._arrived, self._futures

        def ended(f: Any) -> None:  # on Dask's callback thread: queued, answered elsewhere
            futures.pop(name, None)
            arrived.put((f, reply))

        future.add_done_callback(ended)
        if resources and not self._anyone_has(client, resources):
            timer = threading.Timer(
                self.resource_wait_s, self._gave_up, (client, future, resources, reply)
            )
            timer.daemon = True
            timer.start()

    def give_up(self, key: str) -> None:
        """The engine gave attempt ``key`` up (its timeout): withdraw it from the cluster.

        A task still waiting is removed.  One already running cannot be stopped
        in its thread: with :attr:`restart_hung` its worker is restarted (in the
        background: the engine does not wait), else it runs on and its result is
        dropped.
        """
        if self._unsent([key]):
            return  # never sent: nothing runs it
        future = self._futures.get(key)
        client = self._client
        if future is None or client is None or future.done():
            return
        if self.restart_hung:
            threading.Thread(target=self._restart_running, args=(client, key), daemon=True).start()
        future.cancel()

    def withdraw_waiting(self, keys: list[str]) -> list[str]:
        """Cancel the tasks of ``keys`` that no worker has started yet; return their keys.

        A cancelled run does not wait for attempts queued on the cluster: the
        engine leaves them cut off, for a resume to run.
        """
        withdrawn = self._unsent(keys)  # not sent to the cluster yet: kept back here
        client = self._client
        if client is None:
            return withdrawn
        from .daskplugin import executing_keys

        try:  # what the workers execute now (a worker's queue is not started)
            started = {k for ks in client.run(executing_keys).values() for k in ks}
        except Exception:  # the workers cannot say: take nothing more back
            return withdrawn
        for key in keys:
            future = self._futures.get(key)
            if future is not None and not future.done() and key not in started:
                future.cancel()
                withdrawn.append(key)
        return withdrawn

    def _unsent(self, keys: list[str]) -> list[str]:
        """Take the submits of ``keys`` that wait to be sent out of the queue; their keys."""
        wanted = set(keys)
        with self._pending_lock:
            kept = [s for s in self._pending if s.name not in wanted]
            taken = [s.name for s in self._pending if s.name in wanted]
            self._pending = kept
        return taken

    @staticmethod
    def _restart_running(client: Any, key: str) -> None:
        """Restart the worker running task ``key``, if one is (a hung attempt)."""
        try:
            running = client.processing()
            workers = [w for w, keys in running.items() if key in keys]
            if workers:
                client.restart_workers(workers)
        except Exception as exc:  # the cluster went away, or the worker ended itself
            log.warning("could not restart the Dask worker running %s: %s", key, exc)

    def _collect(self, client: Any) -> None:
        """The collector thread: take the futures that ended, fetch the results of
        all that finished in one ``gather`` (one round trip, not one per task), and
        answer each.  Dask's own callback thread only queues them."""
        arrived = self._arrived
        while True:
            first = arrived.get()
            if first is None:
                return
            ended = [first]
            while not arrived.empty():
                item = arrived.get()
                if item is None:
                    arrived.put(None)  # seen after this batch
                    break
                ended.append(item)
            ok = [(f, reply) for f, reply in ended if f.status == "finished"]
            for f, reply in ended:
                if f.status != "finished":
                    reply(None, _explained(f))
            if not ok:
                continue
            try:
                values = client.gather([f for f, _ in ok])
            except BaseException:  # one result cannot be read here: each on its own
                for f, reply in ok:
                    try:
                        value = f.result()
                    except BaseException as exc:
                        reply(None, exc)
                    else:
                        reply(value, None)
                continue
            for (_f, reply), value in zip(ok, values, strict=True):
                reply(value, None)

    def _gave_up(
        self,
        client: Any,
        future: Any,
        resources: dict[str, float],
        answer: Callable[[Any, BaseException | None], None],
    ) -> None:
        """After the wait: fail an attempt no worker can take (one may have joined)."""
        if future.done() or self._anyone_has(client, resources):
            return
        have = sorted(
            {f"{k}={v:g}" for w in self._workers(client) for k, v in w.get("resources", {}).items()}
        )
        answer(
            None,
            ResourceUnavailable(
                f"no worker of the Dask cluster has {_asked(resources)} after "
                f"{self.resource_wait_s:g} s (its workers declare "
                f"{', '.join(have) if have else 'no resources'}; start workers with "
                f'--resources "{_asked(resources)}")'
            ),
        )
        future.cancel()  # after the answer: its end then finds the attempt answered

    def _anyone_has(self, client: Any, resources: dict[str, float]) -> bool:
        return any(
            all(w.get("resources", {}).get(k, 0) >= v for k, v in resources.items())
            for w in self._workers(client)
        )

    @staticmethod
    def _workers(client: Any) -> list[dict[str, Any]]:
        try:
            return list(client.scheduler_info().get("workers", {}).values())
        except Exception:  # the scheduler is unreachable: nobody has anything
            return []

    def ship_module(self, module: str, path: str, source: bytes) -> None:
        """Load an events file (``source``, as module ``module``) on every worker of the
        cluster, and on each that joins later: a worker on another machine cannot read
        it at ``path``.  Once per module; the engine calls it before the first attempt
        that needs it."""
        with self._lock:
            if module in self._shipped:
                return
            self._shipped.add(module)
        from .daskplugin import EventsFile

        client = self._running_client()
        client.register_plugin(EventsFile(module, path, source), name=f"volnux-{module}")

    def shutdown(self, wait: bool = True) -> None:
        """Close the client, and stop the local cluster if this executor started it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            client, cluster = self._client, self._cluster
            self._client = self._cluster = None
        self._arrived.put(None)  # the collector ends after what arrived before
        self._wake.set()  # the sender ends once nothing waits
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        if (client is not None) and self.on_resize is not None:
            report_size(self.on_resize, 0, "shutdown")

    def _running_client(self) -> Any:
        started = False
        with self._lock:
            if self._closed:
                raise RuntimeError("executor is shut down")
            if self._client is None:
                from distributed import Client, LocalCluster

                if self.address == "local":
                    self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                        n_workers=self.max_workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address="127.0.0.1:0",  # loopback only, if bokeh serves one
                        resources=self.resources or None,
                    )
                    self._client = Client(self._cluster)  # type: ignore[no-untyped-call]
                else:
                    self._client = Client(self.address)  # type: ignore[no-untyped-call]
                for target, role in ((self._collect, "results"), (self._send_pending, "sends")):
                    threading.Thread(
                        target=target, args=(self._client,), name=f"volnux-dask-{role}",
                        daemon=True,
                    ).start()  # fmt: skip
                started = True
            client = self._client
        if started and self.on_resize is not None:
            report_size(self.on_resize, self.capacity().workers, "started")
        return client


def _explained(future: Any) -> BaseException:
    """Why a future did not finish, in the event author's terms."""
    from distributed import KilledWorker

    try:
        error = future.exception()
    except BaseException as exc:  # cancelled (the executor shut down)
        return exc
    if isinstance(error, KilledWorker):
        return WorkerLost(
            f"the Dask workers running the attempt died, each time it was tried ({error}); "
            "Dask gave up on it"
        )
    if isinstance(error, BaseException):
        return error
    return RuntimeError(f"the Dask task ended as {future.status!r}")


class _Once:
    """Calls ``done`` the first time it is called, never again (from any thread)."""

    __slots__ = ("_done", "_fired", "_lock")

    def __init__(self, done: Done) -> None:
        self._done = done
        self._fired = False
        self._lock = threading.Lock()

    def __call__(self, value: Any, error: BaseException | None) -> None:
        with self._lock:
            if self._fired:
                return
            self._fired = True
        call_done(self._done, value, error)
