"""Progress of a long loop over examples (evaluation, enrichment) as a few readable lines.

The loops report through a plain callable, ``progress(stage, done, total)`` (:data:`ProgressFn`): ``done`` examples of
``total`` are finished in ``stage`` (e.g. ``"score test"``); a stage starts with ``done == 0``. They never print
themselves. :class:`ProgressLines` is the usual receiver: it turns those calls into at most a line per 10% of a
stage or per ``every_s`` seconds, whichever comes first, and always the last one, each with the rate::

    score test: 80/236 examples (34%), 1.9 examples/s, 42 s

and hands each line to ``say`` (``print`` to stderr on the command line, ``context.log.info`` in a Dagster asset).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

#: ``(stage, done, total)``: ``done`` of ``total`` examples finished in ``stage``; ``done == 0`` starts the stage
ProgressFn = Callable[[str, int, int], None]


@dataclass
class _Stage:
    total: int
    t0: float
    timed: bool  # the stage announced its start (done == 0), so the rate is known
    last_t: float
    last_decile: int = 0
    last_done: int = 0


class ProgressLines:
    """A :data:`ProgressFn` that writes throttled lines to ``say``: a stage's first finished examples, then a line
    whenever the stage crosses another 10% of its total or ``every_s`` seconds have passed since its last line, and
    always when it finishes. A receiver error never reaches the loop (a progress display must not break the work)."""

    def __init__(self, say: Callable[[str], None], unit: str = "examples", every_s: float = 15.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.say, self.unit, self.every_s, self.clock = say, unit, every_s, clock
        self._stages: dict[str, _Stage] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        state = self._stages.get(stage)
        if state is None or done == 0 or done < state.last_done or total != state.total:  # a (new) start
            state = self._stages[stage] = _Stage(total=total, t0=now, timed=done == 0, last_t=now)
            if done == 0:
                return
        decile = 10 * done // total if total > 0 else 10
        first = state.last_done == 0
        if not (first or done >= total or decile > state.last_decile or now - state.last_t >= self.every_s):
            state.last_done = done
            return
        state.last_t, state.last_decile, state.last_done = now, decile, done
        with contextlib.suppress(Exception):  # see the class docstring
            self.say(self.line(stage, done, total, now - state.t0 if state.timed else None))

    def line(self, stage: str, done: int, total: int, elapsed: float | None) -> str:
        pct = f" ({100 * done / total:.0f}%)" if total > 0 else ""
        text = f"{stage}: {done}/{total} {self.unit}{pct}"
        if elapsed is not None and elapsed > 0:
            rate = done / elapsed
            shown = f"{rate:.2f}" if rate < 1 else f"{rate:.1f}" if rate < 100 else f"{rate:.0f}"
            text += f", {shown} {self.unit}/s, {elapsed:.0f} s"
        return text


def _stderr(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


def as_progress(progress: bool | ProgressFn | None, unit: str = "examples") -> ProgressFn | None:
    """The ``progress`` argument of the evaluation functions: a :data:`ProgressFn` is used as given, ``True`` prints
    :class:`ProgressLines` to stderr, ``False``/``None`` reports nothing."""
    if callable(progress):
        return progress
    return ProgressLines(_stderr, unit) if progress else None


def stage(progress: ProgressFn | None, name: str) -> Callable[[int, int], None] | None:
    """``progress`` bound to one stage, ``(done, total)``; None without a receiver."""
    return partial(progress, name) if progress is not None else None
