"""A live progress display for the long commands: one rich progress bar on stderr, on a
terminal only.

``wearable demo``, ``wearable eval``, ``wearable train cohort`` and the training job
(``wearable train``) run for minutes; without it a terminal shows nothing (or one line
per watch or stage) until the result. The bar is drawn only when the stream is a
terminal, so a pipe, a log file, ``--json`` scripts and the tests see exactly what they
saw before. rich is imported only then: the training job on a scheduler never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import IO, Any


class TerminalProgress:
    """The phase a command is in and how far it got, as a bar that is erased at the end.

    ``counter(done, total)`` renders the count beside the bar (``"50/100 sim min"``).
    Every method is a no-op when ``stream`` is not a terminal (or is ``None``), and when
    rich is not installed (an install without the ``demo`` or ``training`` extra): the
    callers then print their plain lines, as for a pipe.

    Examples
    --------
    >>> import io
    >>> with TerminalProgress(io.StringIO(), 12, watches) as progress:
    ...     progress.phase("evaluating")
    ...     progress.advance(3)
    >>> progress.enabled
    False
    """

    def __init__(
        self, stream: IO[str] | None, total: float, counter: Callable[[float, float], str]
    ) -> None:
        self.enabled = stream is not None and stream.isatty()
        self.total = total
        self.counter = counter
        self._progress: Any = None
        self._task: Any = None
        if stream is not None and self.enabled:
            # Imported only for a terminal (rich is a dependency of the demo and training
            # extras); without it the display is off rather than the command failing.
            try:
                from rich.console import Console
                from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
            except ImportError:
                self.enabled = False
                return
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=Console(file=stream),
                transient=True,
            )
            self._task = self._progress.add_task(
                "starting", total=total, count=counter(0, total), detail=""
            )

    def __enter__(self) -> TerminalProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def phase(self, text: str) -> None:
        """Name what the command is doing now (``"training the first release"``)."""
        if self._progress is not None:
            self._progress.update(self._task, description=text)

    def advance(self, done: float, detail: str = "", *, total: float | None = None) -> None:
        """``done`` of the total is done (``total``: a total learnt on the way); ``detail``
        is a short status beside it."""
        if self._progress is not None:
            self.total = self.total if total is None else total
            done = min(done, self.total)
            count = self.counter(done, self.total)
            self._progress.update(
                self._task, completed=done, total=self.total, count=count, detail=detail
            )


def watches(done: float, total: float) -> str:
    """The count of an evaluation: ``"3/12 watches"``."""
    return f"{done:.0f}/{total:.0f} watches"


def simulated_minutes(done_s: float, total_s: float) -> str:
    """The count of a simulation: ``"50/100 sim min"``."""
    return f"{done_s / 60:.0f}/{total_s / 60:.0f} sim min"


def percent(done: float, total: float) -> str:
    """The count of a run whose steps differ in kind (batches, epochs, stages): ``"42%"``.

    Examples
    --------
    >>> percent(21, 50), percent(0, 0)
    ('42%', '0%')
    """
    return f"{100 * done / total:.0f}%" if total > 0 else "0%"
