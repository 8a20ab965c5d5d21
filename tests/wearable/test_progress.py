"""The live progress bar of ``wearable demo``, ``wearable eval``, ``wearable train`` and
``wearable train cohort``: on a terminal only."""

from __future__ import annotations

import doctest
import io
import sys

import pytest

from cloud_training.job import JobProgress
from wearable import progress as progress_module
from wearable.cli.train import _job_progress
from wearable.progress import TerminalProgress, simulated_minutes, watches

#: A run as the training job tells it: a batch read is a step without a line.
RUN = [
    JobProgress("ingest", 0, 9, line="ingest ..."),
    JobProgress("ingest", 1, 10, "batch 1/1"),
    JobProgress("ingest", 2, 10, line="ingest: done in 0.1 s"),
    JobProgress("train", 3, 10, "epoch 1/2, loss 0.5000", "train: epoch 1/2 [#...] loss 0.5000"),
    JobProgress("report", 10, 10),
]


class Terminal(io.StringIO):
    """A text stream that says it is a terminal (as stderr on a console does)."""

    def isatty(self) -> bool:
        return True


def test_the_bar_is_drawn_on_a_terminal() -> None:
    stream = Terminal()
    with TerminalProgress(stream, 6000, simulated_minutes) as progress:
        progress.phase("clinician review, training job")
        progress.advance(3000.0, "1234 records, 3 alerts")
    text = stream.getvalue()
    assert progress.enabled
    assert "clinician review, training job" in text and "50/100 sim min" in text
    assert "1234 records, 3 alerts" in text


def test_a_total_learnt_on_the_way_is_shown() -> None:
    stream = Terminal()
    with TerminalProgress(stream, 0, watches) as progress:
        progress.advance(3, total=12)
    assert "3/12 watches" in stream.getvalue()


def test_nothing_is_written_to_a_pipe_or_a_file() -> None:
    stream = io.StringIO()
    with TerminalProgress(stream, 6000, simulated_minutes) as progress:
        progress.phase("streaming")
        progress.advance(60.0, "12 records")
    assert stream.getvalue() == "" and not progress.enabled
    with TerminalProgress(None, 0, watches) as progress:
        progress.advance(1, total=2)
    assert not progress.enabled


def test_the_training_job_on_a_pipe_keeps_its_lines() -> None:
    stream = io.StringIO()
    with _job_progress(stream) as progress:
        for step in RUN:
            progress(step)
    assert stream.getvalue() == (
        "[train] ingest ...\n"
        "[train] ingest: done in 0.1 s\n"
        "[train] train: epoch 1/2 [#...] loss 0.5000\n"
    )


def test_the_training_job_on_a_terminal_is_one_bar() -> None:
    stream = Terminal()
    with _job_progress(stream) as progress:
        for step in RUN[:-1]:
            progress(step)
    text = stream.getvalue()
    assert "training" in text and "30%" in text and "epoch 1/2, loss 0.5000" in text
    assert "[train]" not in text


def test_without_rich_a_terminal_gets_the_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    # An install without the demo or training extra: the commands print their lines.
    monkeypatch.setitem(sys.modules, "rich.progress", None)
    stream = Terminal()
    with TerminalProgress(stream, 10, watches) as progress:
        progress.advance(5)
    assert not progress.enabled and stream.getvalue() == ""
    with _job_progress(stream) as job:
        job(RUN[0])
    assert stream.getvalue() == "[train] ingest ...\n"


def test_doctests() -> None:
    assert doctest.testmod(progress_module).failed == 0
