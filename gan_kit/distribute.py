"""Training on several devices or machines: a run's `tf.distribute` strategy, and who writes.

    default        one device (TensorFlow's default strategy)
    mirrored       every GPU of this machine (tf.distribute.MirroredStrategy)
    multi_worker   every GPU of every machine that TF_CONFIG lists
                   (tf.distribute.MultiWorkerMirroredStrategy)

Under each of them `batch_size` is the global batch: the data pipeline cuts every batch into one
consecutive slice per replica, each replica draws the noise of the whole batch and keeps its
slice (`GAN.draw`), and the replicas' gradients are summed. N replicas therefore take the steps
that one device takes on the same global batch (within float rounding; batch norm normalises
each replica's slice on its own).

Multi-worker runs start the same command on every machine, each with its own TF_CONFIG:

    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
                "task": {"type": "worker", "index": 0}}' \\
        python -m gan_kit train --preset demo --strategy multi_worker --out /shared/runs/demo

The chief (the "chief" task, else worker 0) writes the run folder; every other worker writes the
same files into a temporary folder that is deleted at the end, as TensorFlow's multi-worker
guide prescribes. A resume (`--resume RUN_DIR` on every worker) reads the chief's folder, so it
must be on storage that every worker can read.
"""

from __future__ import annotations

import json
import os
import re

STRATEGIES = ("default", "mirrored", "multi_worker")


class WorkerLost(RuntimeError):
    """A multi-worker run lost a worker: the collectives were aborted."""


def worker_task(strategy: str) -> tuple[str, int] | None:
    """(task type, index) that TF_CONFIG gives this process for a multi-worker run, else None.

    Read without TensorFlow, so that a bad TF_CONFIG fails before any worker waits for the
    others.
    """
    if strategy != "multi_worker":
        return None
    text = os.environ.get("TF_CONFIG", "")
    hint = (
        'set TF_CONFIG on every worker, e.g. {"cluster": {"worker": ["host0:12345", '
        '"host1:12345"]}, "task": {"type": "worker", "index": 0}}'
    )
    if not text.strip():
        raise ValueError(f"strategy 'multi_worker' needs TF_CONFIG; {hint}")
    try:
        tf_config = json.loads(text)
        workers = tf_config["cluster"].get("worker", [])
        chiefs = tf_config["cluster"].get("chief", [])
        task_type, index = tf_config["task"]["type"], int(tf_config["task"]["index"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"TF_CONFIG cannot be read ({error!r}); {hint}") from None
    tasks = {"worker": workers, "chief": chiefs}
    if task_type not in tasks or not 0 <= index < len(tasks[task_type]):
        raise ValueError(
            f"TF_CONFIG's task {task_type!r} {index} is not in its cluster "
            f"({len(workers)} worker(s), {len(chiefs)} chief); {hint}"
        )
    return task_type, index


def is_chief(task: tuple[str, int] | None, tf_config: str | None = None) -> bool:
    """True for the process that writes the run folder: the only one, the chief task, or
    worker 0 of a cluster without a chief."""
    if task is None:
        return True
    task_type, index = task
    cluster = json.loads(tf_config or os.environ["TF_CONFIG"])["cluster"]
    if task_type == "chief":
        return True
    return task_type == "worker" and index == 0 and not cluster.get("chief")


def make_strategy(name: str):
    """The `tf.distribute.Strategy` called `name` (one of STRATEGIES).

    "multi_worker" must come before TensorFlow runs its first op in this process (it configures
    the collective ops of the cluster), and blocks until every worker of TF_CONFIG has started.
    """
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name != "multi_worker":
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")
    worker_task(name)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        raise ValueError(
            f"strategy 'multi_worker' must start before TensorFlow runs anything in this process "
            f"({error}); start one `python -m gan_kit train` per worker"
        ) from None


def lost_worker_errors() -> tuple[type[BaseException], ...]:
    """The errors that a multi-worker step raises when TensorFlow's health check finds a worker
    down (it aborts the collectives) or a collective fails."""
    import tensorflow as tf

    return (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.InternalError)


def describe_loss(error: BaseException) -> str:
    """Which worker a lost-worker error names, in a few words (TensorFlow's own are long)."""
    text = str(error)
    task = r"(/job:\w+/replica:\d+/task:\d+)"
    # The coordination service's heartbeats, or the health check of the strategy.
    for pattern, words in (
        (r"unhealthy[^/]*" + task, "stopped answering"),
        (task + " is down", "is down"),
    ):
        if match := re.search(pattern, text):
            return f"{match.group(1)} {words}"
    first_line = (text.strip().splitlines() or [type(error).__name__])[0]
    return f"TensorFlow aborted the collectives: {first_line[:120]}"
