"""What one sync cycle amounted to, as data: for exit codes, monitors and the status file.

A cycle can finish without an exception and still not have done its job: it may have
skipped uploads because an earlier failure's backoff is running, found the bucket down,
or refused a tampered model release. :class:`SyncOutcome` names each of these, and the
cycle records every one that happened (``CycleReport.problems``) at the point where it
happened, so nothing downstream has to parse log lines or error strings to tell them
apart. ``wearable gateway sync`` turns the most serious one into its exit code
(``wearable/cli/gateway_sync.py``, ``docs/operations/gateway-service.md``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from gateway.model_update.delivery import LOCAL_FAILURE

__all__ = ["SyncOutcome", "model_outcome", "worst"]


class SyncOutcome(enum.Enum):
    """One thing a sync cycle can end with; ``OK`` when everything due was done.

    Declared from least to most serious: :func:`worst` picks the last one present.
    """

    #: Everything that should have happened did (also: nothing was due, or the network
    #: state allowed nothing, e.g. ``offline`` by configuration).
    OK = "ok"
    #: Uploads and the model check were skipped: an earlier failure's retry time has not
    #: come yet. Nothing is lost; the outbox keeps it.
    BACKING_OFF = "backing_off"
    #: The bucket did not answer (upload or model check). The outbox keeps everything.
    BUCKET_UNREACHABLE = "bucket_unreachable"
    #: The bucket answered but refused the gateway's credentials or settings.
    BUCKET_UNUSABLE = "bucket_unusable"
    #: A verified model could not be installed: the gateway's own model directory failed
    #: (disk full, permissions). The current model keeps serving.
    MODEL_NOT_INSTALLED = "model_not_installed"
    #: The bucket refused a batch for good; it is quarantined in the outbox.
    BATCH_REFUSED = "batch_refused"
    #: A model release failed verification (signature, hashes, size, canary): tampered
    #: or broken. The current model keeps serving.
    RELEASE_REFUSED = "release_refused"


_SEVERITY = {outcome: rank for rank, outcome in enumerate(SyncOutcome)}


def worst(outcomes: Iterable[SyncOutcome]) -> SyncOutcome:
    """The most serious of ``outcomes`` (``OK`` when there are none).

    Examples
    --------
    >>> worst([SyncOutcome.BACKING_OFF, SyncOutcome.RELEASE_REFUSED]).value
    'release_refused'
    >>> worst([]).value
    'ok'
    """
    return max(outcomes, key=_SEVERITY.__getitem__, default=SyncOutcome.OK)


def model_outcome(result: object) -> SyncOutcome:
    """What a model check's result means for the cycle.

    ``result`` is what the model updater returned (``gateway.model_update.delivery.
    UpdateResult``: ``status`` and ``check``); ``None`` (no updater result) is ``OK``.
    """
    status = getattr(result, "status", None)
    if status == "refused":
        return SyncOutcome.RELEASE_REFUSED
    if status == "unavailable":
        if getattr(result, "check", None) == LOCAL_FAILURE:
            return SyncOutcome.MODEL_NOT_INSTALLED
        return SyncOutcome.BUCKET_UNREACHABLE
    return SyncOutcome.OK
