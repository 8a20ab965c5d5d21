"""The live progress bar of ``wearable demo`` and ``wearable eval``: on a terminal only."""

from __future__ import annotations

import doctest
import io

from wearable import progress as progress_module
from wearable.progress import TerminalProgress, simulated_minutes, watches


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


def test_doctests() -> None:
    assert doctest.testmod(progress_module).failed == 0
