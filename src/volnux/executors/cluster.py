"""The Dask executor: attempts on a Dask cluster, the engine and journal here.

``executor = "dask"`` hands each attempt to ``distributed.Client.submit`` and
hears its end through ``add_done_callback``; the engine journals as it does
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
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

from ..errors import WorkerLost
from .base import Capacity, Done, Resize, call_done, report_size, usable_cpus

__all__ = ["ADDRESS_ENV", "INSTALL_HINT", "DaskExecutor"]

#: Where the cluster is named, first that is set (else a local cluster).
ADDRESS_ENV = ("VOLNUX_DASK_ADDRESS", "DASK_SCHEDULER_ADDRESS")

INSTALL_HINT = "the dask executor needs Dask: pip install 'volnux[dask]'"


class DaskExecutor:
    """Runs calls on a Dask cluster: one named by address, or a local one of its own."""

    name = "dask"

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        on_resize: Resize | None = None,
        address: str | None = None,
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
        self._client: Any = None
        self._cluster: Any = None
        self._lock = threading.Lock()
        self._closed = False
        self._keys = itertools.count(1)
        self._prefix = f"volnux-{uuid.uuid4().hex[:8]}"
        self._shipped: set[str] = set()

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
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done, name: str
    ) -> None:
        """Like :meth:`submit`, the task keyed ``name`` on the cluster (the engine
        names an attempt ``RUN-NODE-ATTEMPT``: what the dashboard and logs show)."""
        client = self._running_client()
        future = client.submit(fn, *args, pure=False, key=name)

        def finished(future: Any) -> None:
            status = future.status
            if status == "finished":
                try:
                    value = future.result()
                except BaseException as exc:  # a result that cannot be read here
                    call_done(done, None, exc)
                    return
                call_done(done, value, None)
                return
            call_done(done, None, _explained(future))

        future.add_done_callback(finished)

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
                        dashboard_address=None,
                    )
                    self._client = Client(self._cluster)  # type: ignore[no-untyped-call]
                else:
                    self._client = Client(self.address)  # type: ignore[no-untyped-call]
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
