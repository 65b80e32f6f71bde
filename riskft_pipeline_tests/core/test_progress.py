"""Progress lines from a ``(stage, done, total)`` callback: a line per 10% of a stage or per ``every_s`` seconds,
whichever comes first, always the end, with examples/s; stages are independent and a restarted stage starts over."""

from __future__ import annotations

import pytest

from riskft_pipeline.core.progress import ProgressLines, as_progress, stage


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_line_per_tenth_of_the_stage_and_the_end():
    lines, clock = [], Clock()
    progress = ProgressLines(lines.append, every_s=3600, clock=clock)
    progress("score test", 0, 100)
    assert lines == [], "the start is not a line"
    for done in range(4, 101, 4):  # batches of 4, one second each
        clock.t += 1
        progress("score test", done, 100)
    assert lines[0] == "score test: 4/100 examples (4%), 4.0 examples/s, 1 s", "the first batch says it is running"
    assert [line.split(":")[1].split()[0] for line in lines] == \
        ["4/100", "12/100", "20/100", "32/100", "40/100", "52/100", "60/100", "72/100", "80/100", "92/100",
         "100/100"], "a line at each new tenth"
    assert lines[-1] == "score test: 100/100 examples (100%), 4.0 examples/s, 25 s"


def test_at_most_a_line_per_interval_when_the_tenths_are_slow():
    lines, clock = [], Clock()
    progress = ProgressLines(lines.append, unit="tickets", every_s=15, clock=clock)
    progress("score val", 0, 1000)
    for done in range(1, 51):  # 5 s per ticket: 10% takes 500 s
        clock.t += 5
        progress("score val", done, 1000)
    assert [line.split(",")[0] for line in lines] == [
        "score val: 1/1000 tickets (0%)", "score val: 4/1000 tickets (0%)", "score val: 7/1000 tickets (1%)",
        *[f"score val: {d}/1000 tickets ({100 * d / 1000:.0f}%)" for d in range(10, 51, 3)]]
    assert lines[1] == "score val: 4/1000 tickets (0%), 0.20 tickets/s, 20 s"


def test_stages_are_independent_and_a_restart_starts_over():
    lines, clock = [], Clock()
    progress = ProgressLines(lines.append, every_s=3600, clock=clock)
    progress("score test", 0, 2)
    progress("score val", 0, 4)
    clock.t += 2
    progress("score test", 2, 2)
    progress("score val", 4, 4)
    progress("score test", 0, 10)  # the same stage again (e.g. the next enrichment chunk)
    clock.t += 5
    progress("score test", 10, 10)
    assert lines == ["score test: 2/2 examples (100%), 1.0 examples/s, 2 s",
                     "score val: 4/4 examples (100%), 2.0 examples/s, 2 s",
                     "score test: 10/10 examples (100%), 2.0 examples/s, 5 s"]


def test_without_a_start_there_is_no_rate_and_an_empty_stage_is_quiet():
    lines = []
    progress = ProgressLines(lines.append, clock=Clock())
    progress("justify", 3, 6)
    progress("nothing", 0, 0)
    assert lines == ["justify: 3/6 examples (50%)"]


def test_a_failing_receiver_never_breaks_the_loop():
    def broken(line: str) -> None:
        raise OSError("the log is gone")

    progress = ProgressLines(broken, clock=Clock())
    progress("score test", 0, 1)
    progress("score test", 1, 1)  # no exception


def test_the_progress_argument(capsys):
    def mine(stage_name: str, done: int, total: int) -> None:
        pass

    assert as_progress(mine) is mine
    assert as_progress(False) is None and as_progress(None) is None
    printer = as_progress(True, unit="tickets")
    assert isinstance(printer, ProgressLines)
    printer("score test", 1, 1)
    assert capsys.readouterr().err == "  score test: 1/1 tickets (100%)\n"
    got = []
    bound = stage(lambda *a: got.append(a), "zero-shot test")
    bound(0, 3)
    bound(3, 3)
    assert got == [("zero-shot test", 0, 3), ("zero-shot test", 3, 3)]
    assert stage(None, "x") is None


@pytest.mark.parametrize("rate, shown", [(0.2, "0.20"), (4, "4.0"), (250, "250")])
def test_rate_format(rate, shown):
    assert ProgressLines(print).line("s", int(rate * 10), 10_000, 10.0).endswith(f", {shown} examples/s, 10 s")
