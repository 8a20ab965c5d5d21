"""bumble failures -> bleak's exceptions, so no bumble type reaches the gateway."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import att, core


def being_cancelled() -> bool:
    """True when the current task itself was asked to stop (``Task.cancel()``).

    bumble cancels its own pending futures (GATT requests, pairing, encryption) when a
    link drops; the ``CancelledError`` that raises in our task then says "disconnected",
    not "stop". Only a real ``cancel()`` of our task bumps ``cancelling()``.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


@contextlib.contextmanager
def bleak_errors(operation: str, address: str) -> Iterator[None]:
    """Re-raise bumble exceptions from the block as bleak's.

    - ATT error responses -> ``BleakGATTProtocolError`` carrying the ATT error code;
    - bumble's futures cancelled by a link drop -> ``BleakError("disconnected ...")``,
      while a cancellation of the calling task propagates untouched;
    - any other bumble error (HCI, SMP, timeouts, invalid state) -> ``BleakError``.
    """
    try:
        yield
    except asyncio.CancelledError:
        if being_cancelled():
            raise
        raise BleakError(f"{address}: disconnected during {operation}") from None
    except att.ATT_Error as error:
        raise BleakGATTProtocolError(error.error_code) from error
    except core.TimeoutError as error:
        raise BleakError(f"{address}: {operation} timed out") from error
    except core.BaseBumbleError as error:
        # HCI and SMP errors print their spec name, e.g. "smp/CONFIRM_VALUE_FAILED [0x4]".
        raise BleakError(f"{address}: {operation} failed: {error}") from error
