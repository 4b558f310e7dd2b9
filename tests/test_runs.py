"""The main job on real MNIST: run folders, resume (also after a real kill), and sampling."""

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from tensorflow.python.framework import config as tf_config  # op determinism's on/off state

from gan_kit import cli
from gan_kit.callbacks import read_step_log
from gan_kit.config import TrainConfig
from gan_kit.runs import load_run, train


@pytest.fixture
def run_kwargs(tfds_data_dir, raw_dir):
    return {"data_dir": tfds_data_dir, "raw_dir": raw_dir, "verbose": 0}


def weights_of(run_dir):
    gan, _ = load_run(run_dir)
    return gan.get_weights()


def test_run_folder_holds_everything(tmp_path, run_kwargs, tiny_config):
    run = train(tiny_config, tmp_path / "run", **run_kwargs)
    run_dir = run.run_dir
    for name in ["config.json", "history.csv", "history.png", "final.png", "training.gif"]:
        assert (run_dir / name).stat().st_size > 0, name
    assert TrainConfig.load(run_dir / "config.json") == tiny_config
    frames = sorted(p.name for p in (run_dir / "samples").glob("*.png"))
    assert frames == ["epoch_0000.png", "epoch_0001.png", "epoch_0002.png"]
    lines = (run_dir / "history.csv").read_text().splitlines()
    assert lines[0].split(",")[:1] == ["epoch"] and len(lines) == 3
    assert {"d_loss", "g_loss", "d_real", "d_fake", "seconds"} <= set(lines[0].split(","))
    gif = Image.open(run_dir / "training.gif")
    assert gif.n_frames == 3 and gif.info["loop"] == 0
    assert list((run_dir / "logs").rglob("events.out.tfevents.*")), "no TensorBoard log"
    state = json.loads((run_dir / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 2 and (run_dir / "checkpoints" / state["checkpoint"]).exists()
    assert run.epochs_done == 2 and len(run.history["d_loss"]) == 2
    # 2 epochs of 256 / 64 = 4 steps: a run this short logs every step.
    steps = read_step_log(run_dir / "steps.csv")
    assert steps["step"] == list(range(1, 9)) and steps["epoch"] == [1] * 4 + [2] * 4
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(steps)
    # The last step of each epoch is its own row; the four rows of an epoch average to it.
    epoch_means = np.mean(np.reshape(steps["d_loss"], (2, 4)), axis=1)
    np.testing.assert_allclose(epoch_means, run.history["d_loss"], rtol=1e-4)


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(
    tmp_path, run_kwargs, tiny_config
):
    # Op determinism makes the equality below hold on a GPU too; a CPU needs no switch for it.
    config = replace(tiny_config, epochs=3, deterministic=True)
    train(config, tmp_path / "straight", **run_kwargs)
    assert tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()  # the resume must turn it on again from config.json
    train(replace(config, epochs=1), tmp_path / "stopped", **run_kwargs)
    tf_config.disable_op_determinism()
    train(run_dir=tmp_path / "stopped", resume=True, epochs=3, **run_kwargs)
    assert tf_config.is_op_determinism_enabled()
    for a, b in zip(
        weights_of(tmp_path / "straight"), weights_of(tmp_path / "stopped"), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    history = json.loads((tmp_path / "stopped" / "checkpoints" / "state.json").read_text())[
        "history"
    ]
    assert len(history["d_loss"]) == 3
    assert Image.open(tmp_path / "stopped" / "training.gif").n_frames == 4
    # The step log continues where the checkpoint stopped, without duplicates, and holds
    # what the uninterrupted run logged.
    straight, stopped = (
        read_step_log(tmp_path / name / "steps.csv") for name in ("straight", "stopped")
    )
    assert stopped["step"] == straight["step"] == list(range(1, 13))
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(stopped[key], straight[key], rtol=1e-6)


def test_resume_drops_step_rows_logged_after_the_checkpoint(tmp_path, run_kwargs, tiny_config):
    run_dir = tmp_path / "killed"
    train(replace(tiny_config, epochs=1), run_dir, log_every=2, **run_kwargs)
    # What a process killed during epoch 2 leaves: rows past the checkpoint, one cut short.
    with open(run_dir / "steps.csv", "a") as handle:
        handle.write("6,2,0.7,0.7,0.5,0.5\n8,2,0.")
    train(run_dir=run_dir, resume=True, epochs=2, log_every=2, **run_kwargs)
    steps = read_step_log(run_dir / "steps.csv")
    assert steps["step"] == [2, 4, 6, 8] and 0.7 not in steps["d_loss"]
    assert (run_dir / "history.png").stat().st_size > 0


RUN_WITH_CTRL_C = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('gan_kit', run_name='__main__', alter_sys=True)"
)


def start_training(config, run_dir, tfds_data_dir, raw_dir, **popen_kwargs):
    """A real `python -m gan_kit train` in the background, and the path of its state file."""
    config_path = run_dir.parent / f"{run_dir.name}.json"
    config.save(config_path)
    # A runner started in the background (nohup, `cmd &`) ignores SIGINT, and a child inherits
    # that: give the run Python's own Ctrl-C handler back, as a terminal would have it.
    command = [sys.executable, "-c", RUN_WITH_CTRL_C, "train", "--config", str(config_path)]
    command += ["--out", str(run_dir), "--data-dir", str(tfds_data_dir), "--raw-dir", str(raw_dir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, **popen_kwargs)
    return process, run_dir / "checkpoints" / "state.json"


def wait_for_first_epoch(process, state_path, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if state_path.exists() and json.loads(state_path.read_text())["epoch"] >= 1:
            return
        time.sleep(0.05)


def test_killed_training_process_resumes_without_loss(
    tmp_path, tfds_data_dir, raw_dir, tiny_config
):
    """Kill a real `python -m gan_kit train` mid-run, resume it from the command line, and
    compare with an uninterrupted run: same epochs, same frames, same weights."""
    config = replace(tiny_config, epochs=4, train_limit=1024, deterministic=True)
    run_dir = tmp_path / "killed"
    process, state_path = start_training(
        config, run_dir, tfds_data_dir, raw_dir, stderr=subprocess.DEVNULL
    )
    wait_for_first_epoch(process, state_path)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = json.loads(state_path.read_text())["epoch"]
    assert 1 <= killed_at < 4, "the run should be killed mid-way"

    resumed = subprocess.run(
        [sys.executable, "-m", "gan_kit", "train", "--resume", str(run_dir)]
        + ["--data-dir", str(tfds_data_dir), "--raw-dir", str(raw_dir)],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(state_path.read_text())["epoch"] == 4
    assert len(list((run_dir / "samples").glob("epoch_*.png"))) == 5
    assert Image.open(run_dir / "training.gif").n_frames == 5

    train(config, tmp_path / "straight", data_dir=tfds_data_dir, raw_dir=raw_dir, verbose=0)
    for a, b in zip(weights_of(tmp_path / "straight"), weights_of(run_dir), strict=True):
        np.testing.assert_array_equal(a, b)
    # Rows the killed process logged after its checkpoint were dropped, not repeated.
    straight = read_step_log(tmp_path / "straight" / "steps.csv")
    steps = read_step_log(run_dir / "steps.csv")
    assert steps["step"] == straight["step"] == list(range(1, 4 * 16 + 1))
    np.testing.assert_allclose(steps["d_loss"], straight["d_loss"], rtol=1e-6)


def test_conditional_run_has_a_class_grid_and_samples_chosen_digits(
    tmp_path, run_kwargs, tiny_config, tiny_conditional_config
):
    run_dir = train(tiny_conditional_config, tmp_path / "cgan", **run_kwargs).run_dir
    classes = Image.open(run_dir / "classes.png")
    assert classes.height > classes.width  # ten rows of grid_size=4 columns

    out = tmp_path / "sevens.npz"
    assert cli.main(["sample", str(run_dir), "--n", "12", "--label", "7", "--out", str(out)]) == 0
    with np.load(out) as saved:
        assert saved["images"].dtype == np.uint8 and saved["images"].shape == (12, 28, 28, 1)
        assert saved["labels"].tolist() == [7] * 12
    out_all = tmp_path / "all.npz"
    assert cli.main(["sample", str(run_dir), "--n", "20", "--out", str(out_all)]) == 0
    with np.load(out_all) as saved:
        assert np.bincount(saved["labels"]).tolist() == [2] * 10


def test_sample_is_deterministic_for_a_seed(tmp_path, run_kwargs, tiny_config):
    run_dir = train(replace(tiny_config, epochs=1), tmp_path / "run", **run_kwargs).run_dir
    paths = [tmp_path / f"{name}.npz" for name in ("a", "b", "c")]
    for path, seed in zip(paths, ["1", "1", "2"], strict=True):
        assert (
            cli.main(["sample", str(run_dir), "--n", "8", "--seed", seed, "--out", str(path)]) == 0
        )
    a, b, c = (np.load(path)["images"] for path in paths)
    assert a.shape == (8, 28, 28, 1) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert "labels" not in np.load(paths[0])


def test_gif_command_rerenders_the_training_gif(tmp_path, run_kwargs, tiny_config):
    run_dir = train(replace(tiny_config, epochs=1), tmp_path / "run", **run_kwargs).run_dir
    (run_dir / "training.gif").unlink()
    assert cli.main(["gif", str(run_dir)]) == 0
    assert Image.open(run_dir / "training.gif").n_frames == 2


def test_ctrl_c_keeps_finished_epochs_and_says_how_to_resume(
    tmp_path, tfds_data_dir, raw_dir, tiny_config
):
    run_dir = tmp_path / "interrupted"
    process, state_path = start_training(
        # Far more epochs than it can train before the signal, even if this test process is
        # starved of CPU while it watches (a loaded CI machine once let 50 epochs finish).
        replace(tiny_config, epochs=5000, train_limit=1024),
        run_dir,
        tfds_data_dir,
        raw_dir,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_first_epoch(process, state_path)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=600)  # it still writes the plots and GIF
    assert process.returncode == 130, stderr[-2000:]
    assert f"--resume {run_dir}" in stderr and "Traceback" not in stderr
    assert json.loads(state_path.read_text())["epoch"] >= 1
    assert (run_dir / "history.png").exists() and (run_dir / "training.gif").exists()


def test_metrics_every_epoch_enter_the_history_and_keep_the_best_checkpoint(
    tmp_path, run_kwargs, tiny_config, monkeypatch
):
    from gan_kit import metrics

    # An untrained classifier stands in for the cached one: this tests the wiring, not the
    # numbers (tests/test_metrics.py pins those), and saves training one here.
    monkeypatch.setattr(metrics, "load_classifier", lambda *a, **k: metrics.build_classifier())
    config = replace(tiny_config, epochs=2, eval_every=1, eval_samples=200)
    run_dir = train(config, tmp_path / "measured", **run_kwargs).run_dir
    history = json.loads((run_dir / "checkpoints" / "state.json").read_text())["history"]
    assert len(history["fd"]) == len(history["d_loss"]) == 2
    assert all(np.isfinite(history["fd"]))
    best = json.loads((run_dir / "checkpoints" / "best.json").read_text())
    assert best["fd"] == min(history["fd"]) and best["epoch"] in (1, 2)
    assert (run_dir / "checkpoints" / "best.keras").exists()
    assert "fd" in (run_dir / "history.csv").read_text().splitlines()[0]


def test_time_budget_stops_after_the_last_epoch_that_fits_and_resume_honours_it(
    tmp_path, run_kwargs, tiny_config, capsys
):
    # A budget shorter than any epoch (the first one traces the step): one epoch, then stop.
    config = replace(tiny_config, epochs=4, time_budget=1e-4)
    run = train(config, tmp_path / "run", **{**run_kwargs, "verbose": 2})
    assert run.epochs_done == 1
    assert "time budget of 0.0001 min reached after epoch 1 of 4" in capsys.readouterr().out
    assert json.loads((tmp_path / "run/checkpoints/state.json").read_text())["epoch"] == 1
    assert len(list((tmp_path / "run/samples").glob("*.png"))) == 2  # epoch 0 and 1
    # Resuming a run that used its budget trains nothing and says how to train more.
    run = train(run_dir=tmp_path / "run", resume=True, **run_kwargs)
    assert run.epochs_done == 1
    assert "has used its time budget" in capsys.readouterr().out
    # A budget of 0 removes it: the run goes on to its epochs.
    run = train(run_dir=tmp_path / "run", resume=True, time_budget=0, **run_kwargs)
    assert run.epochs_done == 4


def test_time_budget_leaves_a_run_that_fits_alone(tmp_path, run_kwargs, tiny_config):
    run = train(replace(tiny_config, time_budget=60.0), tmp_path / "run", **run_kwargs)
    assert run.epochs_done == tiny_config.epochs
