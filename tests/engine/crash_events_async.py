"""The crash harness's events as ``async def``, for the asyncio executor: the same
names, parameters and effects (each awaits, then does what its twin does)."""

from __future__ import annotations

import asyncio
from typing import Any

import volnux
from tests.engine import crash_events as twin

WORKFLOW = twin.WORKFLOW


@volnux.event
async def Load(effects: str, ctx: volnux.Context) -> list[int]:
    await asyncio.sleep(0)
    return twin.Load(effects, ctx)


@volnux.event
async def Price(effects: str, ctx: volnux.Context, piped: list[int]) -> int:
    await asyncio.sleep(0)
    return twin.Price(effects, ctx, piped)


@volnux.event
async def Tax(effects: str, ctx: volnux.Context, piped: list[int]) -> int:
    await asyncio.sleep(0)
    return twin.Tax(effects, ctx, piped)


@volnux.event
async def Combine(effects: str, ctx: volnux.Context, piped: dict[str, int]) -> dict[str, int]:
    await asyncio.sleep(0)
    return twin.Combine(effects, ctx, piped)


@volnux.event
async def Check(effects: str, ctx: volnux.Context, piped: Any = None) -> None:
    await asyncio.sleep(0)
    twin.Check(effects, ctx, piped)


@volnux.event
async def Reject(effects: str, ctx: volnux.Context, piped: Any) -> str:
    await asyncio.sleep(0)
    return twin.Reject(effects, ctx, piped)


@volnux.event
async def Accept(effects: str, ctx: volnux.Context) -> str:
    await asyncio.sleep(0)
    return twin.Accept(effects, ctx)


@volnux.event
async def Flaky(effects: str, ctx: volnux.Context) -> str:
    await asyncio.sleep(0)
    return twin.Flaky(effects, ctx)


@volnux.event
async def Finish(effects: str, ctx: volnux.Context, piped: str) -> str:
    await asyncio.sleep(0)
    return twin.Finish(effects, ctx, piped)
