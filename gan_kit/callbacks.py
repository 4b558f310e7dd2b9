"""Keras callbacks that turn a `fit` into a run folder, and show it while it trains.

`SampleGrid` and `RunCheckpoint` write at the end of an epoch, the grid first: a process
killed between the two leaves a checkpoint of the previous epoch and an extra frame that the
resumed run redraws. `StepLog` writes the game every few steps (`steps.csv`), and `LiveView`
draws it, with the fixed-z grid, into a notebook as it trains.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np

from gan_kit import viz


def write_atomically(path: Path, write) -> None:
    """Call `write(tmp_path)`, then rename: a crash mid-write leaves the old file intact."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}")
    write(tmp)
    os.replace(tmp, path)


def write_json(path: Path, data) -> None:
    write_atomically(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))


def frame_path(samples_dir: Path, epoch: int) -> Path:
    return Path(samples_dir) / f"epoch_{epoch:04d}.png"


class SampleGrid(keras.callbacks.Callback):
    """Draws the same latent batch after every epoch: the frames of the training GIF.

    Args:
        samples_dir: where `epoch_NNNN.png` go (epoch 0 is the untrained generator).
        z: the fixed latent batch, (n, latent_dim).
        labels: class ids (n,) for a conditional GAN, else None.
        nrow: images per row of the grid.
    """

    def __init__(self, samples_dir: Path, z: np.ndarray, labels=None, nrow: int = 8):
        super().__init__()
        self.samples_dir = Path(samples_dir)
        self.z = z
        self.labels = labels
        self.nrow = nrow

    def draw(self, epoch: int) -> Path:
        images = self.model.generate(z=self.z, labels=self.labels)
        return viz.save_image_grid(
            images, frame_path(self.samples_dir, epoch), nrow=self.nrow, scale=2
        )

    def on_epoch_end(self, epoch, logs=None):
        self.draw(epoch + 1)


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the whole training model (weights, both optimizers, random state) every epoch.

    Each checkpoint is a `.keras` file written under a temporary name and renamed; then
    `state.json` (epoch, checkpoint file, history so far) is replaced the same way. So the
    state always names a complete checkpoint, and the history always matches it.

    Args:
        checkpoint_dir: the run's `checkpoints/` folder.
        history: per-epoch values of earlier sessions of this run (resume), extended here.
        keep: how many checkpoint files to keep.
    """

    def __init__(self, checkpoint_dir: Path, history: dict | None = None, keep: int = 2):
        super().__init__()
        self.checkpoint_dir = Path(checkpoint_dir)
        self.history = {key: list(values) for key, values in (history or {}).items()}
        self.keep = keep

    def on_train_begin(self, logs=None):
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        # Metrics measured only every few epochs get NaN elsewhere, so that every list stays
        # aligned with the epochs (plots leave gaps at NaN).
        logs = logs or {}
        done = max((len(values) for values in self.history.values()), default=0)
        for key in set(self.history) | set(logs):
            values = self.history.setdefault(key, [math.nan] * done)
            values.append(float(logs.get(key, math.nan)))
        name = f"epoch_{epoch + 1:04d}.keras"
        write_atomically(self.checkpoint_dir / name, lambda tmp: self.model.save(tmp))
        write_json(
            self.checkpoint_dir / "state.json",
            {"epoch": epoch + 1, "checkpoint": name, "history": self.history},
        )
        for old in sorted(self.checkpoint_dir.glob("epoch_*.keras"))[: -self.keep]:
            old.unlink()


class EpochTimer(keras.callbacks.Callback):
    """Adds `seconds` (wall time of the epoch) to the logs that later callbacks see."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = time.perf_counter() - self._start


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit` after the last epoch that fits into `minutes` of training.

    An epoch is not cut short (its checkpoint and frame would be of a half epoch): after each
    one, training goes on only if the time spent plus one more epoch as long as the last stays
    within the budget. The time counts from `on_train_begin`, the first epoch's tracing
    included, plus `spent_seconds` of earlier sessions of a resumed run.

    Attributes:
        stopped_at_epoch: the epoch (1-based) after which the budget stopped the run, or None.
    """

    def __init__(self, minutes: float, spent_seconds: float = 0.0):
        super().__init__()
        self.budget_seconds = 60.0 * minutes
        self.spent_seconds = spent_seconds
        self.stopped_at_epoch: int | None = None

    def has_no_room(self, spent_seconds: float, epoch_seconds: float) -> bool:
        """Whether one more epoch of `epoch_seconds` would end past the budget."""
        return spent_seconds + epoch_seconds > self.budget_seconds

    def on_train_begin(self, logs=None):
        self._start = self._last_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        epoch_seconds, self._last_end = now - self._last_end, now
        if self.has_no_room(self.spent_seconds + (now - self._start), epoch_seconds):
            self.model.stop_training = True
            self.stopped_at_epoch = epoch + 1


# ------------------------------------------------------------------------------ every N steps
_GAME_ORDER = {"d_loss": 0, "g_loss": 1, "d_real": 2, "d_fake": 3}
MAX_STEP_POINTS = 200  # rows a run's step log aims at: enough to see the game, quick to plot


def auto_log_every(total_steps: int, points: int = MAX_STEP_POINTS) -> int:
    """Steps per row for about `points` rows (100 to 200 for long runs; every step for tiny)."""
    return max(1, math.ceil(total_steps / points))


def read_step_log(path: Path) -> dict[str, list[float]]:
    """The columns of a `StepLog` CSV: {"step": [...], "epoch": [...], "d_loss": [...], ...}.

    A last line cut short by a killed process (no newline yet) is skipped.
    """
    lines = Path(path).read_text().splitlines(keepends=True)
    complete = [line for line in lines if line.endswith("\n")]
    reader = csv.reader(complete)
    keys = next(reader, [])
    columns: dict[str, list[float]] = {key: [] for key in keys}
    for row in reader:
        for key, value in zip(keys, row, strict=True):
            columns[key].append(float(value))
    return columns


class StepLog(keras.callbacks.Callback):
    """Every `every` steps, the mean of each metric over just those steps, as a CSV row.

    Keras hands `on_train_batch_end` each tracker's running mean since the epoch began, so
    a later step moves it less and less. A row here holds the mean of the steps since the
    previous row instead: after b steps of an epoch, b times the running mean is the sum of
    those steps, and two such sums differ by the sum of the steps in between. Rows fall on
    every `every`-th step of an epoch and on its last step (the trackers restart with each
    epoch, so a window never spans two), which makes each checkpoint end on a row.

    Columns: step (counted from the run's start), epoch (1-based), then the metrics (a GAN's
    d_loss, g_loss, d_real, d_fake). Each row is appended with one write. When `fit` starts
    at `initial_epoch` > 0 (a resumed run), the rows after its checkpoint (step
    initial_epoch x steps per epoch), logged by the session that was interrupted, are
    dropped first, by rewriting the file atomically.

    Args:
        path: the CSV (a run's `steps.csv`), or None to keep the rows in memory only.
        every: steps per row; None: `auto_log_every` of the whole fit.

    Attributes:
        history: the log so far, as `read_step_log` returns it (with the rows of earlier
            sessions of a resumed run).
    """

    def __init__(self, path: Path | None = None, every: int | None = None):
        super().__init__()
        if every is not None and (int(every) != every or every < 1):
            raise ValueError(f"every must be a positive number of steps or None, got {every!r}")
        self.path = None if path is None else Path(path)
        self.every = every
        self.history: dict[str, list[float]] = {}

    def on_train_begin(self, logs=None):
        self.steps_per_epoch = self.params.get("steps")
        if not self.steps_per_epoch:
            raise ValueError(
                "StepLog numbers steps across epochs, so it needs the epoch length: pass "
                "steps_per_epoch to fit, or a dataset of known length"
            )
        self.rows_every = self.every or auto_log_every(self.params["epochs"] * self.steps_per_epoch)
        self._started = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._started:
            self._started = True
            self._keep_rows_up_to(epoch * self.steps_per_epoch)
        self.epoch = epoch
        self._done, self._sums = 0, {}  # steps of this epoch and their sums at the last row

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1  # with steps_per_execution > 1, Keras reports the last step run
        if done // self.rows_every == self._done // self.rows_every and done < self.steps_per_epoch:
            return
        # Keras sorts the logs by name; the course reads them in the order of the game.
        keys = sorted(logs or {}, key=lambda key: (_GAME_ORDER.get(key, len(_GAME_ORDER)), key))
        sums = {key: float(logs[key]) * done for key in keys}
        steps = done - self._done
        row = {"step": self.epoch * self.steps_per_epoch + done, "epoch": self.epoch + 1}
        row.update({key: (sums[key] - self._sums.get(key, 0.0)) / steps for key in sums})
        self._done, self._sums = done, sums
        self._append(row)

    def _keep_rows_up_to(self, step: int) -> None:
        if self.path is not None and self.path.exists():
            self.history = read_step_log(self.path)
        keep = sum(1 for value in self.history.get("step", []) if value <= step)
        self.history = {key: values[:keep] for key, values in self.history.items()}
        if self.path is None or not self.path.exists():
            return
        if keep:
            write_atomically(self.path, lambda tmp: self._write(tmp, self.history, header=True))
        else:
            self.path.unlink()

    def _append(self, row: dict) -> None:
        new_log = not self.history.get("step")
        if new_log:
            self.history = {key: [] for key in row}
        for key in self.history:
            self.history[key].append(float(row.get(key, math.nan)))
        if self.path is not None:
            last = {key: values[-1:] for key, values in self.history.items()}
            self._write(self.path, last, header=new_log)

    @staticmethod
    def _write(path: Path, columns: dict[str, list[float]], header: bool) -> None:
        # One write per call, in append mode unless rewriting the whole log: a kill leaves at
        # worst a cut last line, which read_step_log skips and a resumed run rewrites away.
        # %.8g keeps step numbers exact up to 10^8 steps.
        lines = [",".join(columns)] if header else []
        lines += [",".join(f"{v:.8g}" for v in row) for row in zip(*columns.values(), strict=True)]
        with open(path, "w" if header else "a") as handle:
            handle.write("".join(line + "\n" for line in lines))


# ------------------------------------------------------------------------------ live view
def in_notebook() -> bool:
    """True in a Jupyter or Colab kernel (where display outputs can be updated in place).

    False in a terminal, a script or the IPython shell, which have no kernel.
    """
    # A kernel has always imported IPython; a script that never did is not in one, and is
    # spared the import.
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveView(keras.callbacks.Callback):
    """The TensorFlow DCGAN tutorial's live view of training, updated in place.

    In a notebook: a progress bar (tqdm.auto: a widget in Jupyter), under it the fixed-z
    sample grid and the step curves of `step_log`, both redrawn when `step_log` adds a row.
    Each is one display output updated through its IPython display handle, so the cell
    shows one grid and one figure, not one per refresh. With `live` False it does nothing,
    and the Keras progress bar (fit's `verbose`) shows progress instead; give fit
    `verbose=0` when it is on, or there are two bars.

    Args:
        step_log: the `StepLog` of the same fit, listed before this callback.
        z: the fixed latent batch (n, latent_dim), as `SampleGrid` draws it.
        labels: class ids (n,) for a conditional GAN, else None.
        nrow: images per row of the grid.
        live: None: on in a notebook kernel (`in_notebook`).
        title: shown on the progress bar.
        refresh: least seconds between redraws; None: nine times the last redraw's duration.
            A redraw (sampling, and plotting with matplotlib) takes a few tenths of a second
            on a CPU, longer than N steps of a small model, so by default redraws skip rows
            as needed to keep drawing under a tenth of the training time.
    """

    def __init__(
        self,
        step_log: StepLog,
        z: np.ndarray,
        labels=None,
        nrow: int = 8,
        *,
        live: bool | None = None,
        title: str | None = None,
        refresh: float | None = None,
    ):
        super().__init__()
        self.step_log = step_log
        self.z, self.labels, self.nrow = z, labels, nrow
        self.live = in_notebook() if live is None else bool(live)
        self.title = title
        self.refresh = refresh
        self.bar = self.grid_output = self.curves_output = None

    def on_train_begin(self, logs=None):
        if not self.live:
            return
        from tqdm.auto import tqdm

        total = self.params["epochs"] * self.params["steps"]
        self.bar = tqdm(total=total, desc=self.title, unit="step", dynamic_ncols=True)
        self._drawn_rows, self._next_draw = -1, -math.inf

    def on_epoch_begin(self, epoch, logs=None):
        if self.bar is None:
            return
        if self.bar.n == 0:  # a resumed run starts part-way
            self.bar.update(epoch * self.params["steps"])
        self._done = 0
        if self.grid_output is None:
            self.draw()

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is None:
            return
        self.bar.update(batch + 1 - self._done)
        self._done = batch + 1
        rows = len(self.step_log.history.get("step", []))
        if rows != self._drawn_rows and time.perf_counter() >= self._next_draw:
            self.draw()

    def on_train_end(self, logs=None):
        if self.bar is None:
            return
        self.draw()  # the last rows, however soon after the previous redraw
        self.bar.close()
        self.bar = None

    def draw(self) -> None:
        """Redraw the grid and the curves in their display outputs (created on first use)."""
        start = time.perf_counter()
        history = self.step_log.history
        self._drawn_rows = len(history.get("step", []))
        step = int(history["step"][-1]) if self._drawn_rows else self.bar.n
        images = self.model.generate(z=self.z, labels=self.labels)
        frame = viz.label_frame(viz.make_grid(images, nrow=self.nrow, scale=2), f"step {step}")
        self.grid_output = _show(frame, self.grid_output)
        if self._drawn_rows:
            last = {k: values[-1] for k, values in history.items() if k not in ("step", "epoch")}
            self.bar.set_postfix({k: f"{value:.3g}" for k, value in last.items()}, refresh=False)
            figure = viz.plot_history(
                {},
                steps=history,
                probabilities=getattr(self.model, "scores_are_probabilities", None),
            )
            # Rendered here rather than by Jupyter's formatter, whose tight bounding box
            # draws the figure twice.
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=80)
            self.curves_output = _show(buffer.getvalue(), self.curves_output)
        seconds = time.perf_counter() - start
        self._next_draw = time.perf_counter() + (
            9 * seconds if self.refresh is None else self.refresh
        )


def _show(image, output):
    """Show a PNG (bytes, or an (H, W, C) uint8 array) in `output`, a display handle; a new
    output when None. Returns the handle."""
    from IPython.display import Image, display

    if not isinstance(image, bytes):
        image = iio.imwrite("<bytes>", image, extension=".png")
    image = Image(data=image, format="png")
    if output is None:
        return display(image, display_id=True)
    output.update(image)
    return output
