"""The step log's numbers and files, and the live notebook view, without a run folder.

The step log is driven by hand with the running means Keras would pass, so every row can be
checked against the steps it averages; the live view trains a tiny MLP GAN on a handful of
synthetic images with IPython's `display` replaced by a recorder.
"""

import numpy as np
import pytest

from gan_kit import callbacks
from gan_kit.callbacks import LiveView, StepLog, auto_log_every, read_step_log

LOSSES = np.array([[1.0, 3.0, 2.0, 6.0], [5.0, 1.0, 0.0, 2.0], [4.0, 4.0, 1.0, 3.0]])


def feed(step_log: StepLog, losses: np.ndarray, initial_epoch: int = 0) -> None:
    """What `fit` calls, with d_loss[epoch, step] as the metric: its running mean per epoch."""
    step_log.set_params({"epochs": len(losses), "steps": losses.shape[1]})
    step_log.on_train_begin()
    for epoch in range(initial_epoch, len(losses)):
        step_log.on_epoch_begin(epoch)
        for batch in range(losses.shape[1]):
            running_mean = losses[epoch, : batch + 1].mean()
            step_log.on_train_batch_end(batch, {"d_loss": running_mean})


@pytest.mark.parametrize(
    "total_steps, every", [(1, 1), (8, 1), (200, 1), (201, 2), (2000, 10), (37_500, 188)]
)
def test_auto_log_every_gives_at_most_200_rows_and_every_step_of_tiny_runs(total_steps, every):
    assert auto_log_every(total_steps) == every
    assert 100 <= -(-total_steps // every) <= 200 or every == 1


def test_step_log_rows_are_means_over_their_own_steps(tmp_path):
    # Every 3 steps of 4-step epochs: rows after steps 3 and 4 of each epoch, never across.
    step_log = StepLog(tmp_path / "steps.csv", every=3)
    feed(step_log, LOSSES)
    expected = [
        LOSSES[e, :3].mean() if last == 3 else LOSSES[e, 3] for e in range(3) for last in (3, 4)
    ]
    assert step_log.history["step"] == [3, 4, 7, 8, 11, 12]
    assert step_log.history["epoch"] == [1, 1, 2, 2, 3, 3]
    np.testing.assert_allclose(step_log.history["d_loss"], expected)
    assert read_step_log(tmp_path / "steps.csv") == step_log.history
    assert (tmp_path / "steps.csv").read_text().splitlines()[:2] == ["step,epoch,d_loss", "3,1,2"]


def test_resumed_step_log_drops_rows_beyond_the_checkpoint(tmp_path):
    path = tmp_path / "steps.csv"
    feed(StepLog(path, every=1), LOSSES)
    uninterrupted = read_step_log(path)
    # Killed in epoch 3 mid-write, after the checkpoint of epoch 1: rows of epochs 2 and 3
    # (one cut short) are in the file but not in the checkpoint.
    with open(path, "a") as handle:
        handle.write("13,3,4.")
    resumed = StepLog(path, every=1)
    feed(resumed, LOSSES, initial_epoch=1)
    assert read_step_log(path) == resumed.history == uninterrupted
    assert path.read_text().count("step,") == 1


def test_step_log_needs_the_epoch_length():
    step_log = StepLog(every=1)
    step_log.set_params({"epochs": 1, "steps": None})
    with pytest.raises(ValueError, match="steps_per_epoch"):
        step_log.on_train_begin()


class FakeDisplay:
    """IPython's `display`: records every new output and every in-place update."""

    def __init__(self):
        self.outputs = []

    def __call__(self, obj, display_id=None):
        assert display_id is True, "live outputs need a handle to be updated in place"
        handle = FakeHandle(obj)
        self.outputs.append(handle)
        return handle


class FakeHandle:
    def __init__(self, obj):
        self.shown = [obj]

    def update(self, obj):
        self.shown.append(obj)


def test_live_view_updates_its_outputs_in_place(monkeypatch, tiny_config):
    from dataclasses import replace

    import IPython.display

    from gan_kit.families import build_gan

    fake = FakeDisplay()
    monkeypatch.setattr(IPython.display, "display", fake)
    config = replace(
        tiny_config,
        model="mlp",
        generator_kwargs={"hidden_units": (8,)},
        discriminator_kwargs={"hidden_units": (8,)},
        ema_decay=None,
    )
    gan = build_gan(config, (8, 8, 1))
    images = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    step_log = StepLog(every=1)
    view = LiveView(step_log, gan.sample_latent(4), nrow=2, live=True, refresh=0)
    gan.fit(images, batch_size=4, epochs=2, verbose=0, callbacks=[step_log, view])

    # One grid and one figure, each redrawn in place: after every one of the 8 steps.
    grid, curves = fake.outputs
    assert len(grid.shown) == 1 + 8 + 1  # the untrained grid, every step, the end
    assert len(curves.shown) == 8 + 1
    assert all(isinstance(png, IPython.display.Image) for png in grid.shown + curves.shown)
    assert grid.shown[0].data != grid.shown[-1].data  # the generator trained, the step moved on
    assert view.bar is None  # closed at the end of training


def test_live_view_is_off_outside_a_notebook():
    assert not callbacks.in_notebook()  # pytest has no kernel
    view = LiveView(StepLog(), np.zeros((4, 2)))
    view.on_train_begin()
    assert not view.live and view.bar is None


def test_in_notebook_needs_a_kernel(monkeypatch):
    import IPython

    class Shell:
        kernel = object()

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    assert callbacks.in_notebook()
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())  # the terminal IPython shell
    assert not callbacks.in_notebook()
