"""The live view: a rich progress bar with the current rate, p50/p99 of the last seconds
and the errors, refreshed from the recorder's counters (not per request, so drawing
costs nothing at high rates); does nothing when disabled."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from ballast.load.config import LoadConfig
from ballast.load.latency import LIVE_WINDOW_S
from ballast.load.recorder import Recorder

PROGRESS_REFRESH_S = 0.25  # Four redraws a second: smooth to the eye, cheap.


def live_detail(recorder: Recorder, now_s: float) -> str:
    snapshot = recorder.live.snapshot(now_s)
    if math.isnan(snapshot["p50_ms"]):
        latency = "p50 - p99 -"
    else:
        latency = f"p50 {snapshot['p50_ms']:.1f} ms p99 {snapshot['p99_ms']:.1f} ms"
    return (
        f"{snapshot['rate_per_s']:.0f}/s  {latency} (last {LIVE_WINDOW_S} s)  "
        f"{recorder.errors} errors"
    )


class LiveProgress:
    def __init__(self, config: LoadConfig, recorder: Recorder) -> None:
        self._config = config
        self._recorder = recorder
        self._task: asyncio.Task[None] | None = None
        self._bar: Any = None
        self.note = ""  # Shown after the outcomes (e.g. "interrupted: writing the report").

    async def __aenter__(self) -> LiveProgress:
        if not self._config.progress:
            return self
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description:>9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
        )
        self._bar.start()
        config = self._config
        # A closed run for a duration has no known total; every other run has.
        total = None if config.duration_s and not config.is_open else config.transfers_max
        self._sent = self._bar.add_task("submitted", total=total, detail="")
        self._done = self._bar.add_task("outcomes", total=0, detail="")
        self._task = asyncio.create_task(self._refresh())
        return self

    def _update(self) -> None:
        recorder = self._recorder
        detail = live_detail(recorder, time.monotonic())
        self._bar.update(self._sent, completed=len(recorder), detail=detail)
        self._bar.update(
            self._done, completed=recorder.outcomes, total=recorder.accepted_count, detail=self.note
        )

    async def _refresh(self) -> None:
        while True:
            self._update()
            await asyncio.sleep(PROGRESS_REFRESH_S)

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is None:
            return
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._update()
        self._bar.stop()
