"""Scale-out training with ``tf.distribute``: one custom training loop for every strategy.

The strategy is selected by a flag (:func:`strategy_make`):

``default``
    ``tf.distribute.get_strategy()``: the no-op strategy, one replica, no collectives.
``mirrored``
    ``MirroredStrategy()``: synchronous data parallelism over the local devices. On a
    CPU-only machine TensorFlow exposes *one* CPU device however many cores there are, so
    this is one replica (the cores are used by intra-op threads instead); it pays off only
    with several GPUs. It is kept so the same flag works on a GPU machine.
``multiworker``
    ``MultiWorkerMirroredStrategy()``: synchronous data parallelism across processes or
    machines, gradients all-reduced with collective ops. The cluster comes from the
    ``TF_CONFIG`` environment variable, which every worker must set (see below).

Why a custom loop
-----------------
Keras 3 ``Model.fit`` under ``MultiWorkerMirroredStrategy`` fails (an open Keras issue; see
``ARCHITECTURE.md``), whereas a loop that calls ``strategy.run`` inside a ``tf.function``
works. To keep one code path, the loop below
is used for *every* strategy, including the default one (no ``fit`` anywhere here). The
Keras 3 TensorFlow optimizer sums gradients across replicas itself, so the per-replica
loss is divided by the *global* number of examples in the step
(``tf.nn.compute_average_loss``) and the summed gradient is the gradient of the global mean.

How sharding works
------------------
Every worker builds the same pipeline over the *full* arrays: shuffle with the same seed
(so all workers agree on the order), then batch with the *global* batch size.
``strategy.experimental_distribute_dataset`` splits each global batch into
``num_replicas_in_sync`` per-replica batches and, with
``AutoShardPolicy.DATA``, worker ``i`` keeps the per-replica batches meant for its replicas
and drops the rest. (The default ``AUTO`` policy tries ``FILE`` sharding first, which has
no files to split here; ``DATA`` is set explicitly.) A global step therefore sees exactly the batch
a single-worker run sees at the same step; only the floating-point order of the gradient
sum differs. A last partial batch is split as evenly as possible (a replica may get an
empty batch, and the workers still run the same number of steps); every row carries the size
of the global batch it came from, so the loss of each step is divided by the true global
count (no extra all-reduce) and a partial batch is not down-weighted.

Running two workers by hand
---------------------------
On one machine (two shells, the same data file; the chief is worker 0)::

    TF_CONFIG='{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]},
                "task": {"type": "worker", "index": 0}}' \\
        python -m cloud_training.distributed worker --data train.npz --out run/ \\
        --epochs 20 --seed 0
    TF_CONFIG='{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]},
                "task": {"type": "worker", "index": 1}}' \\
        python -m cloud_training.distributed worker --data train.npz --out run/ \\
        --epochs 20 --seed 0

On two machines the cluster lists their reachable addresses and each machine sets its own
``index``::

    TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
                "task": {"type": "worker", "index": 0}}'   # on 10.0.0.1
    TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
                "task": {"type": "worker", "index": 1}}'   # on 10.0.0.2

Each worker blocks until all workers of the cluster have connected; the ports must be
reachable between the machines. Only the chief (worker
0, or the ``chief`` task if the cluster has one) writes ``DIR/model.weights.h5`` and
``DIR/metrics.json``: ``save_weights`` of a Keras 3 model writes a local HDF5 file and runs
no collective op, so the other workers need not save anywhere (verified with two workers on
127.0.0.1). Every worker prints one JSON line with its losses and a digest of its weights;
the digests of all workers are equal when the replicas stayed in sync.

Determinism: with the default strategy, the same inputs and seed give bit-identical
weights, also across fresh processes (``model_build`` seeds Keras, NumPy and TensorFlow;
the shuffle has an explicit seed). ``tf.config.experimental.enable_op_determinism()`` is
*not* needed for this model on CPU and is not called: it is process-global and would also
constrain unrelated code. Multi-worker runs are not bit-reproducible: the all-reduce may sum
in a different order (two workers on 127.0.0.1 ended within 3e-7 of the single-worker
weights).

Throughput: every step all-reduces the gradients, which costs far more than the step of
this small MLP. Two workers sharing the 2 cores of one machine trained 4-7k windows/s against
~23k for one process (global batch 64, 20k windows); use large global batches across
machines, and expect gains only when the per-step compute dominates.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import hashlib
import json
import logging
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import tensorflow as tf  # type: ignore[import-untyped]

from cloud_training.model import model_build
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES

logging.getLogger("tensorflow").setLevel(logging.ERROR)
logging.getLogger("absl").setLevel(logging.ERROR)

#: Strategy names accepted by :func:`strategy_make` (and the ``--strategy`` flag).
STRATEGY_KINDS = ("default", "mirrored", "multiworker")
#: Bounds of the per-type positive-class weight, as in ``cloud_training.train``.
POS_WEIGHT_MIN = 1.0
POS_WEIGHT_MAX = 20.0
WEIGHTS_FILE = "model.weights.h5"
_OPTIONS_WARNING = "To make it possible to preserve tf.data options"
METRICS_FILE = "metrics.json"

_TF_CONFIG_EXAMPLE = (
    '{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]}, '
    '"task": {"type": "worker", "index": 0}}'
)


class StrategyError(ValueError):
    """An unknown strategy kind, or a missing/malformed ``TF_CONFIG`` for ``multiworker``."""


class DataError(ValueError):
    """Training arrays with the wrong shape, or a data file without ``X``, ``Y``, ``weight``."""


@dataclass(frozen=True)
class TrainResult:
    """The outcome of :func:`distributed_train`.

    Attributes
    ----------
    model : keras.Model
        The trained model (its variables belong to the strategy it was trained under).
    losses : tuple of float
        Mean training loss of each epoch (mean over the epoch's global steps).
    windows_per_second : float
        Windows trained per wall second of the training loop, counted over the whole
        cluster (``len(X) * epochs / seconds``); includes tracing the step on epoch 1.
    seconds : float
        Wall seconds of the training loop.
    replicas : int
        ``strategy.num_replicas_in_sync``.
    local_windows : int
        Windows this process trained on over all epochs: ``len(X) * epochs`` for one
        worker, its shard (about that divided by the number of workers) under
        ``multiworker``.
    """

    model: Any
    losses: tuple[float, ...]
    windows_per_second: float
    seconds: float
    replicas: int
    local_windows: int


def _tf_config_error(problem: str) -> StrategyError:
    return StrategyError(
        f"multiworker strategy: {problem}. Set the TF_CONFIG environment variable on every "
        f"worker to JSON like {_TF_CONFIG_EXAMPLE} (same cluster everywhere, each worker its "
        "own task index; worker 0 is the chief)."
    )


def tf_config_parse(text: str | None) -> dict[str, Any]:
    """Validate a ``TF_CONFIG`` value for multi-worker training.

    Parameters
    ----------
    text : str or None
        The raw environment value (``None`` when unset).

    Returns
    -------
    dict
        The parsed configuration.

    Raises
    ------
    StrategyError
        When it is unset, not JSON, or lacks a ``cluster`` with a non-empty ``worker``
        list of ``host:port`` strings, or a ``task`` whose ``type``/``index`` names a
        member of that cluster.
    """
    if text is None or not text.strip():
        raise _tf_config_error("TF_CONFIG is not set")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _tf_config_error(f"TF_CONFIG is not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise _tf_config_error("TF_CONFIG must be a JSON object")
    cluster = config.get("cluster")
    if not isinstance(cluster, dict) or not cluster.get("worker"):
        raise _tf_config_error('TF_CONFIG has no "cluster" with a non-empty "worker" list')
    for job, addresses in cluster.items():
        if job not in ("chief", "worker"):
            raise _tf_config_error(f'TF_CONFIG cluster job {job!r} is not "chief" or "worker"')
        if not isinstance(addresses, list) or not all(
            isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses
        ):
            raise _tf_config_error(f'TF_CONFIG cluster "{job}" must be a list of "host:port"')
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise _tf_config_error('TF_CONFIG has no "task" with "type" and "index"')
    kind, index = task["type"], task["index"]
    if kind not in cluster:
        raise _tf_config_error(f"TF_CONFIG task type {kind!r} is not a job of the cluster")
    if not isinstance(index, int) or isinstance(index, bool):
        raise _tf_config_error(f"TF_CONFIG task index {index!r} is not an integer")
    if not 0 <= index < len(cluster[kind]):
        raise _tf_config_error(
            f"TF_CONFIG task index {index} is outside 0..{len(cluster[kind]) - 1} for {kind!r}"
        )
    return config


def is_chief(strategy: Any) -> bool:
    """Whether this process is the one that writes results.

    Parameters
    ----------
    strategy : tf.distribute.Strategy
        The strategy training runs under.

    Returns
    -------
    bool
        ``True`` for single-process strategies; for multi-worker, ``True`` on the ``chief``
        task, or on worker 0 when the cluster has no ``chief`` job.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def strategy_make(kind: str) -> Any:
    """The ``tf.distribute`` strategy named by ``kind``.

    Parameters
    ----------
    kind : {"default", "mirrored", "multiworker"}
        ``default``: ``tf.distribute.get_strategy()``. ``mirrored``: ``MirroredStrategy()``
        over the local devices (one replica on a CPU-only machine). ``multiworker``:
        ``MultiWorkerMirroredStrategy()`` over the cluster in ``TF_CONFIG``; create it at
        program start-up, before other TensorFlow work, as TensorFlow requires.

    Returns
    -------
    tf.distribute.Strategy
        The strategy.

    Raises
    ------
    StrategyError
        For an unknown ``kind``, or for ``multiworker`` without a valid ``TF_CONFIG``.
    """
    if kind == "default":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "multiworker":
        # Validate first: without TF_CONFIG TensorFlow silently falls back to one local
        # worker, and a malformed one fails deep inside the cluster resolver.
        tf_config_parse(os.environ.get("TF_CONFIG"))
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise StrategyError(f"unknown strategy {kind!r}; choose one of {', '.join(STRATEGY_KINDS)}")


def pos_weight_from_labels(Y: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Per-type positive-class weight ``clip(negatives / positives, 1, 20)``.

    Parameters
    ----------
    Y : ndarray of float32, shape (n, types)
        Labels in {0, 1}; NaN (label unknown) is counted neither way.

    Returns
    -------
    ndarray of float32, shape (types,)
        The weights (``positives`` is taken as at least 1).
    """
    positives = (Y == 1).sum(axis=0).astype(np.float64)
    negatives = (Y == 0).sum(axis=0).astype(np.float64)
    ratio = negatives / np.maximum(positives, 1.0)
    weight: npt.NDArray[np.float32] = np.clip(ratio, POS_WEIGHT_MIN, POS_WEIGHT_MAX).astype(
        np.float32
    )
    return weight


def masked_weighted_bce(y_true: Any, y_pred: Any, weight: Any, pos_weight: Any) -> Any:
    """Per-example loss: weighted binary cross-entropy over the known labels.

    Parameters
    ----------
    y_true : tensor (b, types)
        Labels in {0, 1}, NaN where unknown.
    y_pred : tensor (b, types)
        Predicted probabilities.
    weight : tensor (b,)
        Per-example sample weight.
    pos_weight : tensor (types,)
        Weight of the positive term per type (:func:`pos_weight_from_labels`).

    Returns
    -------
    tensor (b,)
        ``weight * sum_j known_j * bce_j / types`` with
        ``bce_j = -(pos_weight_j * y log p + (1 - y) log(1 - p))``. Dividing by the number
        of types, not of known labels, keeps the weight of one known label independent of
        how many other labels of the window are unknown, and equals ``_weighted_bce`` of
        ``cloud_training.train`` when every label is known.
    """
    known = tf.math.logical_not(tf.math.is_nan(y_true))
    y = tf.where(known, y_true, tf.zeros_like(y_true))
    p = tf.clip_by_value(y_pred, 1e-7, 1.0 - 1e-7)
    per = -(pos_weight * y * tf.math.log(p) + (1.0 - y) * tf.math.log(1.0 - p))
    per = tf.where(known, per, tf.zeros_like(per))
    types = tf.cast(tf.shape(y_true)[-1], per.dtype)
    return weight * tf.reduce_sum(per, axis=-1) / types


def _check_arrays(
    X: npt.NDArray[np.float32], Y: npt.NDArray[np.float32], weight: npt.NDArray[np.float32]
) -> None:
    n = len(X)
    if X.ndim != 2 or X.shape[1] != len(FEATURE_NAMES):
        raise DataError(f"X must have shape (n, {len(FEATURE_NAMES)}), got {X.shape}")
    if Y.shape != (n, len(ANOMALY_TYPES)):
        raise DataError(f"Y must have shape ({n}, {len(ANOMALY_TYPES)}), got {Y.shape}")
    if weight.shape != (n,):
        raise DataError(f"weight must have shape ({n},), got {weight.shape}")
    if n == 0:
        raise DataError("no training windows")


def _with_global_count(x: Any, y: Any, w: Any) -> tuple[Any, Any, Any, Any]:
    # Tag every row of a global batch with that batch's size, before it is split.
    n = tf.shape(x)[0]
    return x, y, w, tf.fill([n], n)


def distributed_train(
    X: npt.NDArray[np.float32],
    Y: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32],
    *,
    seed: int,
    strategy: Any,
    epochs: int,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    on_epoch: Callable[[int, int, float], None] | None = None,
) -> TrainResult:
    """Train the anomaly model under ``strategy`` with a custom ``strategy.run`` loop.

    Parameters
    ----------
    X : ndarray of float32, shape (n, 25)
        Features, NaN where missing (the model imputes them).
    Y : ndarray of float32, shape (n, 6)
        Labels in {0, 1}, NaN where the label of that type is unknown (masked out).
    weight : ndarray of float32, shape (n,)
        Per-example sample weights.
    seed : int
        Seeds the model initialisation and the shuffle. Under ``multiworker`` every worker
        must pass the same seed and the same arrays, so that the shards are disjoint.
    strategy : tf.distribute.Strategy
        From :func:`strategy_make`.
    epochs : int
        Passes over the data.
    batch_size : int, default 64
        The *global* batch size (split across all replicas of all workers).
    learning_rate : float, default 3e-3
        Adam learning rate.
    on_epoch : callable, optional
        Called after every epoch with ``(epoch, epochs, mean loss)`` (progress output).

    Returns
    -------
    TrainResult
        The model, per-epoch mean losses, windows/s and the number of replicas.

    Raises
    ------
    DataError
        When the arrays have inconsistent shapes.
    ValueError
        When ``epochs`` or ``batch_size`` is not positive, or ``batch_size`` is smaller
        than the number of replicas.
    """
    X = np.asarray(X, dtype=np.float32)
    Y = np.asarray(Y, dtype=np.float32)
    weight = np.asarray(weight, dtype=np.float32)
    _check_arrays(X, Y, weight)
    replicas = int(strategy.num_replicas_in_sync)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if batch_size < replicas:
        raise ValueError(f"batch_size {batch_size} is smaller than the {replicas} replicas")
    pos_weight = tf.constant(pos_weight_from_labels(Y))

    with strategy.scope():
        model = model_build(X, seed)  # seeds Keras, NumPy and TF
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        # Create the slot variables now, inside the scope, not lazily in the first step.
        optimizer.build(model.trainable_variables)

    options = tf.data.Options()
    # The arrays are in memory (no files to shard by): shard the batches. Ignored by
    # single-worker strategies.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = (
        tf.data.Dataset.from_tensor_slices((X, Y, weight))
        .shuffle(len(X), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(_with_global_count)
        .with_options(options)
    )
    dist_dataset = strategy.experimental_distribute_dataset(dataset)

    def replica_step(x: Any, y: Any, w: Any, count: Any) -> tuple[Any, Any]:
        # Divide by the true size of this global batch: a last partial batch is then not
        # down-weighted. It travels with the data, so no extra all-reduce is needed; a
        # replica that got no rows (uneven partial batch) contributes zero.
        global_count = tf.cast(tf.maximum(tf.reduce_max(count), 1), tf.int64)
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            per_example = masked_weighted_bce(y, pred, w, pos_weight)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_count)
        grads = tape.gradient(loss, model.trainable_variables)
        # The Keras optimizer sums the gradients over replicas before applying them.
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss, tf.cast(tf.shape(x)[0], tf.float32)

    @tf.function  # type: ignore[untyped-decorator]
    def run_epoch(data: Any) -> tuple[Any, Any]:
        total = tf.constant(0.0)
        steps = tf.constant(0.0)
        local_windows = tf.constant(0.0)
        for x, y, w, count in data:
            loss, rows = strategy.run(replica_step, args=(x, y, w, count))
            # The replicas' shares of the global mean add up to the global step loss.
            total += strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
            steps += 1.0
            # This process's replicas only (strategy.reduce would sum over all workers).
            local_windows += tf.add_n(strategy.experimental_local_results(rows))
        return total / tf.maximum(steps, 1.0), local_windows

    losses: list[float] = []
    local_windows = 0.0
    with warnings.catch_warnings():
        # Tracing the loop over a distributed dataset reads its options in graph mode,
        # which TensorFlow warns about; the options are set above and are not read back.
        warnings.filterwarnings("ignore", message=_OPTIONS_WARNING, category=UserWarning)
        start = time.perf_counter()
        for epoch in range(1, epochs + 1):
            mean_loss, windows = run_epoch(dist_dataset)
            losses.append(float(mean_loss))
            local_windows += float(windows)
            if on_epoch is not None:
                on_epoch(epoch, epochs, losses[-1])
        seconds = time.perf_counter() - start
    return TrainResult(
        model=model,
        losses=tuple(losses),
        windows_per_second=len(X) * epochs / seconds,
        seconds=seconds,
        replicas=replicas,
        local_windows=round(local_windows),
    )


def weights_digest(model: Any) -> str:
    """SHA-256 over the model's weights (bytes in order), to compare models bit for bit.

    Parameters
    ----------
    model : keras.Model
        Any built Keras model.

    Returns
    -------
    str
        Hex digest.
    """
    digest = hashlib.sha256()
    for array in model.get_weights():
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def training_data_load(
    path: Path,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """``(X, Y, weight)`` from an ``.npz`` with those three arrays.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    tuple of ndarray of float32
        ``X`` (n, 25), ``Y`` (n, 6), ``weight`` (n,).

    Raises
    ------
    DataError
        When an array is missing or the shapes disagree.
    """
    with np.load(path) as data:
        missing = [k for k in ("X", "Y", "weight") if k not in data.files]
        if missing:
            raise DataError(f"{path}: missing arrays {missing}; it has {data.files}")
        X = np.asarray(data["X"], np.float32)
        Y = np.asarray(data["Y"], np.float32)
        weight = np.asarray(data["weight"], np.float32)
    _check_arrays(X, Y, weight)
    return X, Y, weight


def _worker(args: argparse.Namespace) -> int:
    # The strategy first: MultiWorkerMirroredStrategy must be created before any other
    # TensorFlow op runs in the process (np.load below touches no TensorFlow).
    strategy = strategy_make(args.strategy)
    X, Y, weight = training_data_load(args.data)
    result = distributed_train(
        X,
        Y,
        weight,
        seed=args.seed,
        strategy=strategy,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
    )
    resolver = getattr(strategy, "cluster_resolver", None)
    summary = {
        "strategy": args.strategy,
        "task_type": getattr(resolver, "task_type", None),
        "task_index": getattr(resolver, "task_id", None),
        "chief": is_chief(strategy),
        "replicas": result.replicas,
        "windows": len(X),
        "local_windows": result.local_windows,
        "epochs": args.epochs,
        "losses": list(result.losses),
        "seconds": result.seconds,
        "windows_per_second": result.windows_per_second,
        "weights_sha256": weights_digest(result.model),
    }
    if summary["chief"]:
        # A local HDF5 write of the chief's (synchronised) copy: no collective op is
        # involved, so the other workers need not save anything.
        args.out.mkdir(parents=True, exist_ok=True)
        result.model.save_weights(args.out / WEIGHTS_FILE)
        (args.out / METRICS_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m cloud_training.distributed worker --data F --out D ...``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 on a configuration or data error.
    """
    parser = argparse.ArgumentParser(prog="python -m cloud_training.distributed")
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser(
        "worker", help="train on an .npz (X, Y, weight); the chief saves the weights"
    )
    worker.add_argument("--data", type=Path, required=True, help=".npz with X, Y, weight")
    worker.add_argument("--out", type=Path, required=True, help="output directory (chief)")
    worker.add_argument("--epochs", type=int, required=True)
    worker.add_argument("--seed", type=int, required=True)
    worker.add_argument("--strategy", choices=STRATEGY_KINDS, default="multiworker")
    worker.add_argument("--batch-size", type=int, default=64, help="global batch size")
    worker.add_argument("--learning-rate", type=float, default=3e-3)
    args = parser.parse_args(argv)
    try:
        return _worker(args)
    except (StrategyError, DataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
