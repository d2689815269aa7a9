"""Events that log, importable by name so worker processes can unpickle them."""

from __future__ import annotations

import logging

import volnux

shop = logging.getLogger("shop")


@volnux.event
def Chatty(ctx: volnux.Context) -> str:
    ctx.log.info("fetched %d rows", 3)
    ctx.log.warning("no rate for EUR; using 1.0")
    return "said"


@volnux.event(executor="process")
def ChattyProcess(ctx: volnux.Context) -> str:
    ctx.log.info("in a worker process")
    return "said"


@volnux.event
def Fails(ctx: volnux.Context) -> None:
    ctx.log.info("about to fail")
    try:
        {}["k"]
    except KeyError:
        ctx.log.exception("lookup failed")
    raise RuntimeError("gave up")


@volnux.event
def Debugs(ctx: volnux.Context) -> None:
    ctx.log.debug("debug line")
    ctx.log.info("info line")


@volnux.event
def BadFormat(ctx: volnux.Context) -> str:
    ctx.log.info("%d apples", "three")
    return "fine"


@volnux.event
def Floods(ctx: volnux.Context, lines: int = 10) -> None:
    for i in range(lines):
        ctx.log.info("line %d", i)


@volnux.event
def UsesModuleLogger(ctx: volnux.Context) -> None:
    shop.info("charging card %d", 42)
    ctx.log.info("via ctx.log")


@volnux.event
def FormatsInfinity(ctx: volnux.Context) -> str:
    ctx.log.info("%d rows", float("inf"))  # %d of inf raises OverflowError, not TypeError
    return "still fine"
