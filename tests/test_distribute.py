"""Strategies: batches split per replica, who writes, TF_CONFIG checks, and two real workers.

The two-worker tests start `MultiWorkerMirroredStrategy` processes on 127.0.0.1: one pair trains
and resumes a tiny MLP GAN and must end with the weights of one process trained on the global
batch; in the other, one worker is killed and the survivor must stop with a clear error.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from gan_kit import cli, data, distribute
from gan_kit.config import TrainConfig
from gan_kit.runs import _check_split, train

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------ batch slices
def slices(batches: tf.data.Dataset) -> list[list[int]]:
    return [element.numpy().tolist() for element in batches]


def test_split_batches_gives_each_replica_its_consecutive_slice():
    batches = tf.data.Dataset.range(10).batch(4)  # 4, 4 and a last, smaller batch of 2
    assert slices(data.split_batches(batches, 2, [0])) == [[0, 1], [4, 5], [8]]
    assert slices(data.split_batches(batches, 2, [1])) == [[2, 3], [6, 7], [9]]
    # A worker with two devices yields its devices' slices in turn.
    assert slices(data.split_batches(batches.take(2), 4, [2, 3])) == [[2], [3], [6], [7]]
    # Uneven: a batch of 4 over 3 replicas.
    assert slices(data.split_batches(batches.take(1), 3, [0, 1, 2])) == [[0], [1], [2, 3]]


def test_split_batches_keeps_images_and_labels_together():
    pairs = tf.data.Dataset.from_tensor_slices((np.arange(6), np.arange(6) * 10)).batch(6)
    (images, labels), *_ = list(data.split_batches(pairs, 3, [1]))
    assert images.numpy().tolist() == [2, 3] and labels.numpy().tolist() == [20, 30]


def test_in_memory_pipeline_split_over_replicas_is_the_global_batch():
    images = (np.arange(12, dtype=np.uint8) * 20).reshape(12, 1, 1, 1)
    kwargs = {"batch_size": 4, "seed": 3, "epochs": 2}
    whole = [b.numpy().ravel() for b in data.make_dataset(images, **kwargs)]
    halves = [
        [b.numpy().ravel() for b in data.make_dataset(images, replicas=(2, [r]), **kwargs)]
        for r in (0, 1)
    ]
    for batch, first, second in zip(whole, *halves, strict=True):
        np.testing.assert_array_equal(np.concatenate([first, second]), batch)


def test_batches_too_small_for_the_replicas_are_refused():
    _check_split(64, 16, (2, range(1)))  # fine: every batch holds 16
    with pytest.raises(ValueError, match="last batch of an epoch holds 1"):
        _check_split(65, 16, (2, range(1)))
    with pytest.raises(ValueError, match="cannot share the batches of 2"):
        _check_split(64, 2, (4, range(1)))


# ------------------------------------------------------------------------ who writes
def tf_config(workers: int, index: int, ports=None, task_type: str = "worker") -> str:
    ports = ports or [12345 + i for i in range(workers)]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


def test_worker_zero_is_the_chief_unless_there_is_a_chief_task(monkeypatch):
    assert distribute.worker_task("default") is None and distribute.is_chief(None)
    for index, chief in ((0, True), (1, False)):
        monkeypatch.setenv("TF_CONFIG", tf_config(2, index))
        assert distribute.worker_task("multi_worker") == ("worker", index)
        assert distribute.is_chief(("worker", index)) is chief
    with_chief = {"cluster": {"chief": ["a:1"], "worker": ["b:1"]}}
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({**with_chief, "task": {"type": "worker", "index": 0}})
    )
    assert not distribute.is_chief(distribute.worker_task("multi_worker"))
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({**with_chief, "task": {"type": "chief", "index": 0}})
    )
    assert distribute.is_chief(distribute.worker_task("multi_worker"))


@pytest.mark.parametrize(
    "value, phrase",
    [
        (None, "needs TF_CONFIG"),
        ("{not json", "cannot be read"),
        (tf_config(2, 2), "not in its cluster"),
        (tf_config(2, 0, task_type="evaluator"), "not in its cluster"),
    ],
)
def test_multi_worker_needs_a_readable_tf_config(monkeypatch, value, phrase):
    if value is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(ValueError, match=phrase):
        distribute.worker_task("multi_worker")


def test_cli_refuses_multi_worker_without_tf_config(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    out = tmp_path / "run"
    status = cli.main(
        ["train", "--model", "mlp", "--dataset", "mnist", "--strategy", "multi_worker"]
        + ["--out", str(out)]
    )
    err = capsys.readouterr().err.strip()
    assert status == 2 and err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert "TF_CONFIG" in err and not out.exists()
    parse = cli.build_parser().parse_args
    args = parse(["train", "--preset", "demo", "--strategy", "mirrored"])
    assert cli.config_from_args(args).strategy == "mirrored"
    with pytest.raises(SystemExit) as exit_:
        parse(["train", "--preset", "demo", "--strategy", "tpu"])
    assert exit_.value.code == 2


def test_a_lost_worker_is_named_in_a_few_words():
    # The two messages TensorFlow 2.21 gives (coordination service, then strategy health check).
    heartbeats = (
        "{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/replica:0/task:0/"
        "device:CPU:0}} Collective ops is aborted by: Error reported from /job:worker/task:1: "
        "The following tasks are unhealthy (stopped sending heartbeats):\n"
        "/job:worker/replica:0/task:1\nThe tasks have crashed."
    )
    assert distribute.describe_loss(tf.errors.UnavailableError(None, None, heartbeats)) == (
        "/job:worker/replica:0/task:1 stopped answering"
    )
    down = "cluster check alive failed, /job:worker/replica:0/task:2 is down"
    assert distribute.describe_loss(RuntimeError(down)) == "/job:worker/replica:0/task:2 is down"
    assert distribute.describe_loss(RuntimeError("boom\nmore")).endswith(": boom")


# ------------------------------------------------------------------------ two real workers
# A GAN whose two-worker run must equal one process: no batch norm (its statistics are per
# replica), float32 everywhere. 64 images in batches of 16: 4 steps per epoch, 8 per worker.
TINY = TrainConfig(
    model="mlp",
    dataset="mnist",
    latent_dim=8,
    generator_kwargs={"hidden_units": (16,)},
    discriminator_kwargs={"hidden_units": (16,)},
    batch_size=16,
    epochs=2,
    train_limit=64,
    grid_size=2,
    precision="float32",
)

WORKER_SCRIPT = """
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from gan_kit.config import TrainConfig
from gan_kit.runs import train

config_path, run_dir, data_dir, raw_dir, weights_path, epochs = sys.argv[1:]
kwargs = {"data_dir": data_dir, "raw_dir": raw_dir, "verbose": 0}
if Path(run_dir).exists():
    run = train(run_dir=run_dir, resume=True, epochs=int(epochs), **kwargs)
else:
    config = TrainConfig.load(config_path)
    run = train(replace(config, epochs=int(epochs)), run_dir, **kwargs)
np.savez(weights_path, *run.gan.get_weights())
"""


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def start_workers(command, tmp_path: Path, name: str) -> list[subprocess.Popen]:
    """Two processes of `command`, worker 0 and worker 1 of one cluster on free local ports.

    Their temporary folders go to tmp_path/name-tmp, so a test can see what they leave behind.
    """
    ports = free_ports(2)
    (tmp_path / f"{name}-tmp").mkdir(exist_ok=True)
    processes = []
    for index in range(2):
        env = {
            **os.environ,
            "TF_CONFIG": tf_config(2, index, ports),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TMPDIR": str(tmp_path / f"{name}-tmp"),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        with open(tmp_path / f"{name}-{index}.err", "w") as stderr:
            processes.append(
                subprocess.Popen(
                    [sys.executable, *command(index)],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    text=True,
                )
            )
    return processes


def wait_all(processes, tmp_path: Path, name: str, timeout: float = 600) -> None:
    try:
        for index, process in enumerate(processes):
            returncode = process.wait(timeout=timeout)
            log = (tmp_path / f"{name}-{index}.err").read_text()
            assert returncode == 0, f"worker {index}:\n{log[-3000:]}"
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.slow
def test_two_workers_train_and_resume_as_one_process_on_the_global_batch(
    tmp_path, tfds_data_dir, raw_dir
):
    config = replace(TINY, strategy="multi_worker")
    config.save(tmp_path / "config.json")
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    run_dir = tmp_path / "run"

    def command(epochs):
        return lambda index: [
            str(script),
            str(tmp_path / "config.json"),
            str(run_dir),
            str(tfds_data_dir),
            str(raw_dir),
            str(tmp_path / f"worker{index}.npz"),
            str(epochs),
        ]

    # One epoch, then a resume by both workers to two (every worker reads the chief's folder).
    wait_all(start_workers(command(1), tmp_path, "first"), tmp_path, "first")
    assert json.loads((run_dir / "checkpoints" / "state.json").read_text())["epoch"] == 1
    wait_all(start_workers(command(2), tmp_path, "resume"), tmp_path, "resume")
    state = json.loads((run_dir / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]["d_loss"]) == 2
    assert TrainConfig.load(run_dir / "config.json") == replace(config, epochs=1)
    assert (run_dir / "training.gif").exists() and (run_dir / "history.png").exists()
    # Worker 1 wrote into a temporary folder and removed it; only the chief's folder remains.
    for name in ("first", "resume"):
        assert not list((tmp_path / f"{name}-tmp").glob("gan_kit_worker_*")), name

    workers = [np.load(tmp_path / f"worker{index}.npz") for index in range(2)]
    single = train(
        replace(TINY, strategy="default"),
        tmp_path / "single",
        data_dir=tfds_data_dir,
        raw_dir=raw_dir,
        verbose=0,
    ).gan.get_weights()
    assert len(workers[0].files) == len(single)
    for index, expected in enumerate(single):
        first, second = (worker[f"arr_{index}"] for worker in workers)
        np.testing.assert_array_equal(first, second)  # all-reduced: the very same update
        np.testing.assert_allclose(first, expected, rtol=1e-5, atol=1e-6)
    trained = [w for w in single if w.ndim > 0]
    assert not any(np.allclose(w, 0) for w in trained), "the comparison needs trained weights"


@pytest.mark.slow
def test_a_killed_worker_ends_the_other_with_a_clear_error(tmp_path, tfds_data_dir, raw_dir):
    # Long enough that worker 1 is killed mid-run: 64 steps per epoch.
    config = replace(TINY, strategy="multi_worker", epochs=50, train_limit=1024)
    config.save(tmp_path / "config.json")
    run_dir = tmp_path / "run"

    def command(index):
        return ["-m", "gan_kit", "train", "--config", str(tmp_path / "config.json")] + [
            "--out",
            str(run_dir),
            "--data-dir",
            str(tfds_data_dir),
            "--raw-dir",
            str(raw_dir),
        ]

    chief, other = start_workers(command, tmp_path, "killed")
    try:
        state = run_dir / "checkpoints" / "state.json"
        deadline = time.time() + 300
        while not state.exists() and time.time() < deadline and chief.poll() is None:
            time.sleep(0.2)
        assert state.exists(), (tmp_path / "killed-0.err").read_text()[-3000:]
        other.send_signal(signal.SIGKILL)
        other.wait()
        # TensorFlow's health check pings every 30 s and aborts the collectives: no hang.
        started = time.time()
        returncode = chief.wait(timeout=180)
        waited = time.time() - started
    finally:
        for process in (chief, other):
            if process.poll() is None:
                process.kill()
                process.wait()
    err = (tmp_path / "killed-0.err").read_text()
    assert returncode == 1, err[-3000:]
    # One line of ours (TensorFlow's own logging of the health check may surround it).
    ours = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(ours) == 1, err[-3000:]
    assert ours[0].startswith("error: a worker of this multi-worker run stopped")
    # The worker that was killed, when TensorFlow's error names it (the health check's does; a
    # collective aborted first under load says only that).
    assert ("/job:worker/replica:0/task:1" in ours[0]) or (
        "TensorFlow aborted the collectives" in ours[0]
    ), ours[0]
    assert f"--resume {run_dir}" in ours[0] and "Traceback" not in err
    assert json.loads(state.read_text())["epoch"] >= 1
    print(f"the chief stopped {waited:.0f} s after worker 1 was killed")
