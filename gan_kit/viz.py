"""Pictures of a GAN's progress: image grids, captioned GIFs, loss curves and 2-D point clouds.

Pure NumPy / Pillow / imageio / matplotlib, with no TensorFlow import, so notebooks and tests
load it instantly. Tensors from a model are accepted wherever NumPy can convert them
(``np.asarray`` calls ``.numpy()`` for eager tensors).

Conventions:
    * images are channels-last ``(N, H, W, C)`` with ``C`` in {1, 3}, either float in the
      generators' tanh range [-1, 1] or uint8 in [0, 255];
    * nothing here picks a file name or samples ``z``: the caller passes the frames and the
      path, so the same fixed latent batch gives the same pictures on every run;
    * figures are built with ``matplotlib.figure.Figure``, never pyplot, so no backend or
      global state is touched; a notebook shows the returned ``Figure`` as the cell's value
      (as a PNG, whether or not pyplot was imported).

Example:
    >>> grid = make_grid(fake_images, nrow=8, scale=2)         # (H', W', C) uint8
    >>> save_gif(frames, "runs/demo/progress.gif", captions=[f"epoch {e}" for e in epochs])
    >>> plot_history(history.history, path="runs/demo/history.png")
"""

from __future__ import annotations

import functools
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike
from PIL import Image, ImageDraw, ImageFont

PathLike = str | os.PathLike

# tanh never leaves [-1, 1]; a little slack tolerates resampling overshoot, while anything
# beyond it is almost always [0, 255] data passed as floats by mistake.
_FLOAT_LIMIT = 1.5
_CAPTION_SIZE = 14  # px; readable on a 28-px digit grid upscaled x2
_CAPTION_MIN_SIZE = 6
_CAPTION_MARGIN = 3


# --------------------------------------------------------------------------- conversion


def to_uint8(images: ArrayLike) -> np.ndarray:
    """Converts images from the generator's range [-1, 1] to uint8 [0, 255].

    Maps ``x -> round((x + 1) * 127.5)`` after clipping to [-1, 1], so -1 -> 0, 0 -> 128 and
    1 -> 255 (round half up, not truncation, which would shift every grey level down).

    Images scaled to [0, 1] cannot be told apart from [-1, 1] ones and come out washed-out
    grey; rescale them with ``2 * x - 1`` first.

    Args:
        images: float array of any shape with values in [-1, 1] (slightly outside is clipped),
            or a uint8 array, which is returned unchanged.

    Returns:
        uint8 array of the same shape.

    Raises:
        ValueError: for other dtypes, NaN/inf values (a diverged generator), or floats beyond
            +-1.5, which usually means [0, 255] floats were passed.
    """
    arr = np.asarray(images)
    if arr.dtype == np.uint8:
        return arr
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(
            f"to_uint8 accepts float images in [-1, 1] or uint8 images in [0, 255], got dtype "
            f"{arr.dtype}; cast [0, 255] integers with .astype(np.uint8)."
        )
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError("images contain NaN or inf; the generator has probably diverged.")
    if arr.size and np.abs(arr).max() > _FLOAT_LIMIT:
        raise ValueError(
            f"float images must be in [-1, 1] (the generator's tanh range), got values in "
            f"[{arr.min():.3g}, {arr.max():.3g}]; for [0, 255] data pass uint8, or rescale "
            f"with x / 127.5 - 1."
        )
    scaled = (np.clip(arr.astype(np.float64), -1.0, 1.0) + 1.0) * 127.5
    return np.floor(scaled + 0.5).astype(np.uint8)


def _check_images(images: ArrayLike, what: str = "images") -> np.ndarray:
    arr = np.asarray(images)
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        hint = " (add a channel axis with x[..., None])" if arr.ndim == 3 else ""
        raise ValueError(
            f"{what} must have shape (N, H, W, C) with C in {{1, 3}}, got {arr.shape}{hint}."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{what} is empty: need at least one image, got shape {arr.shape}.")
    return to_uint8(arr)


def _check_frame(frame: ArrayLike, what: str = "frame") -> np.ndarray:
    arr = np.asarray(frame)
    if arr.ndim == 2:
        arr = arr[..., None]  # imageio reads a greyscale PNG (e.g. save_image_grid's) as (H, W)
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3):
        raise ValueError(
            f"{what} must have shape (H, W, C) with C in {{1, 3}}, or (H, W), got {arr.shape}."
        )
    return to_uint8(arr)


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    return np.repeat(frame, 3, axis=-1) if frame.shape[-1] == 1 else frame


# --------------------------------------------------------------------------- grids


def make_grid(
    images: ArrayLike,
    nrow: int | None = None,
    padding: int = 2,
    pad_value: int = 255,
    scale: int = 1,
) -> np.ndarray:
    """Tiles a batch of images into one image, like torchvision's ``make_grid``.

    Each image is upscaled ``scale`` times by repeating pixels (nearest neighbour, so digits
    stay crisp), then placed in a cell; cells are separated and surrounded by ``padding``
    output pixels of ``pad_value``. Cells after the last image are left blank.

    Args:
        images: (N, H, W, C), C in {1, 3}, float in [-1, 1] or uint8.
        nrow: images per row (torchvision's name); default ``ceil(sqrt(N))``, a square grid.
        padding: pixels between and around cells (not scaled).
        pad_value: grey level 0..255 of padding and blank cells.
        scale: integer upscaling factor for each image.

    Returns:
        uint8 array (rows * (H*scale + padding) + padding, nrow * (W*scale + padding) + padding,
        C) with ``rows = ceil(N / nrow)``.

    Example:
        >>> make_grid(np.zeros((7, 28, 28, 1)), padding=2).shape   # 3 x 3 cells, 2 blank
        (92, 92, 1)
    """
    arr = _check_images(images)
    n, h, w, c = arr.shape
    ncol = math.ceil(math.sqrt(n)) if nrow is None else nrow
    for name, value, low in (("nrow", ncol, 1), ("padding", padding, 0), ("scale", scale, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if not 0 <= pad_value <= 255:
        raise ValueError(f"pad_value must be a grey level in [0, 255], got {pad_value!r}.")
    ncol, padding, scale = int(ncol), int(padding), int(scale)

    if scale > 1:
        arr = arr.repeat(scale, axis=1).repeat(scale, axis=2)
    rows = math.ceil(n / ncol)
    cell_h, cell_w = h * scale + padding, w * scale + padding
    grid = np.full((rows * cell_h + padding, ncol * cell_w + padding, c), pad_value, np.uint8)
    for i, image in enumerate(arr):
        r, col = divmod(i, ncol)
        top, left = padding + r * cell_h, padding + col * cell_w
        grid[top : top + h * scale, left : left + w * scale] = image
    return grid


def save_image_grid(
    images: ArrayLike,
    path: PathLike,
    nrow: int | None = None,
    scale: int = 2,
    caption: str | None = None,
) -> Path:
    """Writes a grid of images (see ``make_grid``) as a PNG, creating parent folders.

    Args:
        images: (N, H, W, C), C in {1, 3}, float in [-1, 1] or uint8.
        path: where to write the PNG; the caller chooses it (e.g. ``out / "epoch_003.png"``).
        nrow: images per row; default a square grid.
        scale: integer upscaling; 2 makes 28-px digits readable.
        caption: optional text in a white strip above the grid (see ``label_frame``).

    Returns:
        The path written, as a ``Path``.
    """
    grid = make_grid(images, nrow=nrow, scale=scale)
    if caption is not None:
        grid = label_frame(grid, caption)
    elif grid.shape[-1] == 1:
        grid = grid[..., 0]  # an (H, W) array is saved as an 8-bit greyscale PNG
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, grid, extension=".png")
    return path


# --------------------------------------------------------------------------- captions and GIFs


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        # Pillow >= 10.1 ships a small scalable font (Aileron), so no system font is needed.
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):
        # Older Pillow, or a build without FreeType: a fixed ~11-px bitmap font.
        return ImageFont.load_default()


def _text_width(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> int:
    left, _, right, _ = font.getbbox(text)
    return right - left


def label_frame(frame: ArrayLike, text: str) -> np.ndarray:
    """Adds a white strip above a frame with ``text`` centred in black.

    The strip height depends only on the font, never on the text, so frames of one shape
    stay one shape after captioning (a GIF needs that). Text too wide for the frame is drawn
    smaller, down to 6 px, then clipped. The font covers ASCII; other characters may not show.

    Args:
        frame: (H, W, C), C in {1, 3}, or greyscale (H, W); uint8 or float in [-1, 1].
        text: the caption, e.g. ``"epoch 3"``.

    Returns:
        uint8 array (H + strip, W, 3): always RGB, so captioned grey and colour frames agree.
    """
    rgb = _to_rgb(_check_frame(frame))
    width = rgb.shape[1]
    base = _font(_CAPTION_SIZE)
    # "Ag" spans cap height and descender, so every caption sits on the same baseline.
    _, ref_top, _, ref_bottom = base.getbbox("Ag")
    strip_h = ref_bottom - ref_top + 2 * _CAPTION_MARGIN

    font, size = base, _CAPTION_SIZE
    while _text_width(font, text) > width - 2 * _CAPTION_MARGIN and size > _CAPTION_MIN_SIZE:
        size -= 1
        font = _font(size)
    left = max(_CAPTION_MARGIN, (width - _text_width(font, text)) // 2)

    strip = Image.new("RGB", (width, strip_h), "white")
    ImageDraw.Draw(strip).text(
        (left - font.getbbox(text)[0], _CAPTION_MARGIN - ref_top), text, fill="black", font=font
    )
    return np.concatenate([np.asarray(strip), rgb], axis=0)


def _gif_ms(seconds: float, name: str) -> int:
    if not seconds > 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {seconds!r}.")
    # GIF stores delays in hundredths of a second and Pillow truncates, so round here instead.
    return 10 * max(1, round(seconds * 100))


def save_gif(
    frames: Sequence[ArrayLike] | np.ndarray,
    path: PathLike,
    seconds_per_frame: float = 0.4,
    loop: int = 0,
    captions: Sequence[str] | None = None,
    hold_last: float = 1.5,
) -> Path:
    """Writes frames as an animated GIF, e.g. the fixed-z sample grid after each epoch.

    Frames are written in the order given; identical consecutive frames are merged by Pillow
    (their delays add up), so a GIF read back may hold fewer frames than were passed.

    Args:
        frames: sequence of images of one shape, (H, W, C) with C in {1, 3} or greyscale
            (H, W), uint8 or float in [-1, 1] (converted with ``to_uint8``), e.g. outputs of
            ``make_grid`` or grid PNGs read back with ``imageio.v3.imread``.
        path: where to write the GIF; parent folders are created.
        seconds_per_frame: delay of every frame but the last (GIF resolution: 0.01 s;
            browsers play delays under 0.02 s as 0.1 s).
        loop: how many times to repeat; 0 (the default) loops forever.
        captions: optional text per frame (same length as ``frames``), drawn with
            ``label_frame``, e.g. ``[f"epoch {e}" for e in range(1, n + 1)]``.
        hold_last: delay of the last frame in seconds, so the final result lingers.

    Returns:
        The path written, as a ``Path``.

    Raises:
        ValueError: no frames, a frame of another shape (naming its index), captions that are
            not one string per frame, or non-positive delays.
    """
    arrays = [_check_frame(f, what=f"frame {i}") for i, f in enumerate(frames)]
    if not arrays:
        raise ValueError("save_gif needs at least one frame, got none.")
    for i, arr in enumerate(arrays[1:], start=1):
        if arr.shape != arrays[0].shape:
            raise ValueError(
                f"all frames must have one shape: frame {i} has shape {arr.shape}, "
                f"frame 0 has {arrays[0].shape}."
            )
    if int(loop) != loop or loop < 0:
        raise ValueError(f"loop must be an integer >= 0 (0 = forever), got {loop!r}.")
    step, last = _gif_ms(seconds_per_frame, "seconds_per_frame"), _gif_ms(hold_last, "hold_last")
    if captions is not None:
        # A lone string would otherwise caption each frame with one of its characters.
        if isinstance(captions, str) or len(captions) != len(arrays):
            raise ValueError(
                f"captions must be a list of {len(arrays)} strings, one per frame, "
                f"got {captions!r}."
            )
        arrays = [label_frame(a, str(c)) for a, c in zip(arrays, captions, strict=False)]

    # Pillow rejects a list of delays for a single frame.
    durations: int | list[int] = [step] * (len(arrays) - 1) + [last] if len(arrays) > 1 else last
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # RGB frames: Pillow quantises each to an adaptive palette of 256 colours, exact for grey
    # images; an explicit batch flag stops imageio guessing axes from small shapes.
    iio.imwrite(
        path,
        np.stack([_to_rgb(a) for a in arrays]),
        extension=".gif",
        plugin="pillow",
        is_batch=True,
        duration=durations,  # milliseconds in imageio v3's pillow plugin
        loop=int(loop),
    )
    return path


# --------------------------------------------------------------------------- figures


class NotebookFigure(Figure):
    """A ``Figure`` that Jupyter shows as a PNG even if pyplot was never imported.

    Jupyter renders a bare ``Figure`` through a formatter that only matplotlib's inline
    backend installs, and that backend loads with pyplot; without it a cell prints
    ``<Figure size 600x600 with 1 Axes>``. When the formatter is installed, IPython uses it
    instead of this method, so the figure is never shown twice.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


_LOSS_KEYS = ("d_loss", "g_loss")
_SCORE_KEYS = ("d_real", "d_fake")
_SCORE_LABELS = {
    True: {"d_real": "D(x)", "d_fake": "D(G(z))"},
    False: {"d_real": "critic(x)", "d_fake": "critic(G(z))"},
}


def _series(values: object) -> np.ndarray | None:
    """Returns a 1-D float array, or None for values that are not a non-empty numeric list."""
    try:
        arr = np.asarray(values, dtype=np.float64)  # None entries become NaN: gaps in the line
    except (TypeError, ValueError):
        return None
    return arr if arr.ndim == 1 and arr.size > 0 else None


def _plot_series(ax: Axes, y: np.ndarray, x: np.ndarray | None = None, **kwargs: object) -> None:
    x = np.arange(1, len(y) + 1) if x is None else x
    ax.plot(x, y, marker="o" if len(y) < 30 else None, ms=3, **kwargs)


def _style(ax: Axes, title: str, ylabel: str, xlabel: str = "epoch") -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)


def plot_history(
    history: Mapping[str, Sequence[float]],
    path: PathLike | None = None,
    title: str | None = None,
    *,
    steps: Mapping[str, Sequence[float]] | None = None,
    probabilities: bool | None = None,
) -> Figure:
    """Plots a GAN's training curves: the game per step (or per epoch), metrics per epoch.

    Panels, each drawn only when it has data (missing keys are skipped):
        1. ``d_loss`` and ``g_loss``;
        2. ``d_real`` and ``d_fake``, the mean D(x) and D(G(z)): on a "probability" axis in
           [0, 1] with the equilibrium 1/2 marked for the BCE losses, otherwise on a "critic
           score" axis (a WGAN critic is unbounded);
        3. every other numeric key of ``history`` (e.g. ``fd``, ``coverage``), each on its own
           y-axis since their scales differ; a metric logged less often than every epoch is
           drawn against 1..len(values).

    Panels 1 and 2 come from ``steps`` when it is given (x axis: training step), else from
    ``history`` (x axis: epoch). Per-epoch means hide the game: one point per epoch averages
    away the swings of D and G that a point every few dozen steps shows.

    Args:
        history: name -> per-epoch values, e.g. ``model.fit(...).history``; a Keras
            ``History`` object is accepted too. May be empty when ``steps`` is given.
        path: if given, the figure is also saved there as a PNG (100 dpi), creating folders.
        title: optional title above all panels.
        steps: optional step-level log, name -> values with a ``"step"`` key for the x axis,
            e.g. ``callbacks.StepLog(...).history`` or ``callbacks.read_step_log(path)``.
        probabilities: whether ``d_real``/``d_fake`` are probabilities (the BCE losses; see
            ``GAN.scores_are_probabilities``) or critic scores; None guesses from the values
            (probabilities when every value lies in [0, 1]).

    Returns:
        The matplotlib ``Figure``; a notebook shows it when it is the cell's value.

    Raises:
        ValueError: if neither ``history`` nor ``steps`` holds numeric values.
    """
    history = getattr(history, "history", history)  # keras.callbacks.History -> its dict
    series = {k: s for k, v in dict(history).items() if (s := _series(v)) is not None}
    game_keys = (*_LOSS_KEYS, *_SCORE_KEYS)
    step_x = None if steps is None else _series(steps.get("step"))
    if step_x is not None:
        game = {k: s for k in game_keys if (s := _series(steps.get(k))) is not None}
        xlabel = "step"
    else:
        game = {k: series[k] for k in game_keys if k in series}
        xlabel = "epoch"
    if not game and not series:
        raise ValueError(
            "history has nothing to plot: expected per-epoch lists such as "
            "{'d_loss': [...], 'g_loss': [...], 'd_real': [...], 'd_fake': [...]}, "
            f"got keys {list(dict(history))}."
        )
    losses = [k for k in _LOSS_KEYS if k in game]
    scores = [k for k in _SCORE_KEYS if k in game]
    extras = [k for k in series if k not in game_keys]
    groups = (("losses", losses), ("scores", scores), ("extras", extras))
    panels = [name for name, keys in groups if keys]

    fig = NotebookFigure(figsize=(4.8 * len(panels) + 0.8 * max(0, len(extras) - 1), 3.8))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=False):
        if panel == "losses":
            for k in losses:
                _plot_series(ax, game[k], step_x, label=k)
            _style(ax, "Losses", "loss", xlabel)
            ax.legend()
        elif panel == "scores":
            is_prob = probabilities
            if is_prob is None:
                values = np.concatenate([game[k] for k in scores])
                finite = values[np.isfinite(values)]
                is_prob = finite.size > 0 and finite.min() >= 0.0 and finite.max() <= 1.0
            for k in scores:
                _plot_series(ax, game[k], step_x, label=_SCORE_LABELS[bool(is_prob)][k])
            if is_prob:
                ax.set_ylim(0.0, 1.0)
                ax.axhline(0.5, color="grey", ls="--", lw=1, label="equilibrium 1/2")
            _style(
                ax,
                "Discriminator outputs" if is_prob else "Critic scores",
                "probability" if is_prob else "critic score",
                xlabel,
            )
            ax.legend()
        else:
            _plot_extras(ax, {k: series[k] for k in extras})
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    return fig


def _plot_extras(ax: Axes, series: dict[str, np.ndarray]) -> None:
    for i, (name, y) in enumerate(series.items()):
        # Twin axes share the epoch axis but not the scale (FID ~ 100, coverage ~ 0.5).
        target = ax if i == 0 else ax.twinx()
        if i > 1:
            target.spines["right"].set_position(("axes", 1.0 + 0.18 * (i - 1)))
        color = f"C{(i + 2) % 10}"  # C0/C1 are taken by the loss and score panels
        _plot_series(target, y, color=color, label=name)
        target.set_ylabel(name, color=color)
        target.tick_params(axis="y", colors=color)
    # No legend: the coloured axis labels name the lines, and a legend on the first axes
    # would be hidden under the lines of the twins drawn above it.
    _style(ax, "Metrics", ax.get_ylabel())


def show_images(
    images: ArrayLike,
    nrow: int | None = None,
    title: str | None = None,
    scale: int = 1,
) -> Figure:
    """Shows a grid of images in a notebook (a ``Figure`` with no axes or ticks).

    Args:
        images: (N, H, W, C), C in {1, 3}, float in [-1, 1] or uint8.
        nrow: images per row; default a square grid.
        title: optional title.
        scale: integer pixel upscaling before display (see ``make_grid``).

    Returns:
        The ``Figure``; make it the cell's last expression to display it.
    """
    grid = make_grid(images, nrow=nrow, scale=scale)
    height, width = grid.shape[:2]
    fig = NotebookFigure(figsize=(6.0, 6.0 * height / width + (0.4 if title else 0.0)))
    ax = fig.subplots()
    if grid.shape[-1] == 1:
        # Fixed vmin/vmax: otherwise imshow stretches contrast per grid and hides real greys.
        ax.imshow(grid[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    fig.tight_layout(pad=0.3)
    return fig


def _points(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {arr.shape}.")
    return arr


def plot_points(
    real: ArrayLike,
    fake: ArrayLike | None = None,
    centers: ArrayLike | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Scatters real and generated 2-D points, e.g. a toy GAN on a ring of Gaussians.

    Mode collapse shows as generated points covering only some of the ``centers``.

    Args:
        real: (N, 2) samples of the data distribution.
        fake: optional (M, 2) generator samples G(z).
        centers: optional (K, 2) mode centres, drawn as crosses.
        title: optional axes title.
        ax: draw into this axes (e.g. one panel of a training-progress figure); default a new
            5 x 5 inch figure.

    Returns:
        The ``Figure`` holding the axes. If ``ax`` came from pyplot, the inline backend shows
        that figure by itself, so end the cell with ``;`` to avoid seeing it twice.
    """
    if ax is None:
        fig = NotebookFigure(figsize=(5.0, 5.0))
        ax = fig.subplots()
    else:
        fig = ax.figure
    real = _points(real, "real")
    ax.scatter(real[:, 0], real[:, 1], s=6, alpha=0.4, color="C0", label="real")
    if fake is not None:
        fake = _points(fake, "fake")
        ax.scatter(fake[:, 0], fake[:, 1], s=6, alpha=0.4, color="C1", label="generated")
    if centers is not None:
        centers = _points(centers, "centers")
        ax.scatter(
            centers[:, 0],
            centers[:, 1],
            s=80,
            marker="x",
            color="black",
            linewidths=2,
            label="mode centers",
        )
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    if title:
        ax.set_title(title)
    return fig
