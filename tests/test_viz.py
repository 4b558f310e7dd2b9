"""Tests for gan_kit.viz: pixel values, grid geometry, files read back, figure contents."""

import ast
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from gan_kit import viz

H, W = 28, 28


def _digits(n: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Random uint8 images (n, H, W, channels), distinct with overwhelming probability."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, H, W, channels), dtype=np.uint8)


def _gif_frames(path: Path) -> tuple[list[np.ndarray], list[int], object]:
    """Every frame of a GIF as RGB, its delay in ms, and the loop count of the file."""
    with Image.open(path) as gif:
        frames, durations = [], []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
            durations.append(gif.info["duration"])
        return frames, durations, gif.info.get("loop")


# --------------------------------------------------------------------------- to_uint8


def test_to_uint8_endpoints_and_rounding():
    x = np.array([-1.0, 0.0, 1.0, -1.3, 1.3, 1.6 / 127.5 - 1], dtype=np.float32)
    # 0 -> 127.5 and the last -> 1.6 round to 128 and 2, where truncation gives 127 and 1.
    # Slightly out-of-range values are clipped.
    np.testing.assert_array_equal(viz.to_uint8(x), [0, 128, 255, 0, 255, 2])
    assert viz.to_uint8(x).dtype == np.uint8


def test_to_uint8_returns_uint8_unchanged():
    x = _digits(2)
    assert viz.to_uint8(x) is x


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([0.0, 128.0, 255.0]), r"\[-1, 1\]"),  # [0, 255] floats
        (np.array([0, 255], dtype=np.int64), "uint8"),
        (np.array([0.0, np.nan]), "NaN"),
    ],
)
def test_to_uint8_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        viz.to_uint8(bad)


# --------------------------------------------------------------------------- make_grid


@pytest.mark.parametrize(
    "n, kwargs, expected",
    [
        (1, {}, (H + 4, W + 4)),
        (7, {}, (3 * (H + 2) + 2, 3 * (W + 2) + 2)),  # 3 x 3 cells, the last two blank
        (64, {}, (8 * (H + 2) + 2, 8 * (W + 2) + 2)),
        (7, {"nrow": 4, "padding": 0, "scale": 2}, (2 * 2 * H, 4 * 2 * W)),
        (64, {"nrow": 16, "padding": 1, "scale": 3}, (4 * (3 * H + 1) + 1, 16 * (3 * W + 1) + 1)),
    ],
)
@pytest.mark.parametrize("channels", [1, 3])
def test_make_grid_shapes(n, kwargs, expected, channels):
    grid = viz.make_grid(_digits(n, channels), **kwargs)
    assert grid.shape == (*expected, channels)
    assert grid.dtype == np.uint8


def test_make_grid_places_each_cell():
    images = _digits(7, channels=3)
    pad, scale, nrow = 2, 2, 3
    grid = viz.make_grid(images, nrow=nrow, padding=pad, pad_value=77, scale=scale)
    cell_h, cell_w = H * scale + pad, W * scale + pad
    for i, image in enumerate(images):
        r, c = divmod(i, nrow)
        top, left = pad + r * cell_h, pad + c * cell_w
        cell = grid[top : top + H * scale, left : left + W * scale]
        # Nearest-neighbour upscaling: every source pixel becomes a scale x scale block.
        np.testing.assert_array_equal(cell[::scale, ::scale], image)
        np.testing.assert_array_equal(cell[1::scale, 1::scale], image)
    # Cells 7 and 8 of the 3 x 3 grid are blank; the border is padding.
    top, left = pad + 2 * cell_h, pad + 1 * cell_w
    assert (grid[top:, left:] == 77).all()
    assert (grid[:pad] == 77).all() and (grid[:, :pad] == 77).all()


def test_make_grid_converts_floats():
    images = np.full((2, 4, 4, 1), -1.0, dtype=np.float32)
    images[1] = 1.0
    grid = viz.make_grid(images, nrow=2, padding=1, pad_value=128)
    assert (grid[1:5, 1:5] == 0).all() and (grid[1:5, 6:10] == 255).all()
    assert grid[0, 0, 0] == 128


@pytest.mark.parametrize(
    "bad, kwargs, match",
    [
        (np.zeros((4, H, W)), {}, r"\(N, H, W, C\).*x\[\.\.\., None\]"),
        (np.zeros((4, H, W, 2)), {}, r"\(N, H, W, C\)"),
        (np.zeros((H, W)), {}, r"\(N, H, W, C\)"),
        (np.zeros((0, H, W, 1)), {}, "empty"),
        (np.zeros((4, H, W, 1)), {"nrow": 0}, "nrow"),
        (np.zeros((4, H, W, 1)), {"scale": 1.5}, "scale"),
        (np.zeros((4, H, W, 1)), {"pad_value": 300}, "pad_value"),
    ],
)
def test_make_grid_rejects(bad, kwargs, match):
    with pytest.raises(ValueError, match=match):
        viz.make_grid(bad, **kwargs)


# --------------------------------------------------------------------------- PNG grids


def test_save_image_grid_writes_readable_png(tmp_path):
    images = _digits(10)
    path = viz.save_image_grid(images, tmp_path / "new" / "dir" / "grid.png", nrow=5)
    assert path == tmp_path / "new" / "dir" / "grid.png" and path.exists()
    expected = viz.make_grid(images, nrow=5, scale=2)[..., 0]
    np.testing.assert_array_equal(iio.imread(path), expected)  # PNG is lossless


def test_save_image_grid_with_caption(tmp_path):
    images = _digits(4, channels=3)
    path = viz.save_image_grid(images, tmp_path / "grid.png", caption="epoch 1")
    saved = iio.imread(path)
    grid = viz.make_grid(images, scale=2)
    strip = saved.shape[0] - grid.shape[0]
    assert strip > 0 and saved.shape[1:] == grid.shape[1:]
    np.testing.assert_array_equal(saved[strip:], grid)


# --------------------------------------------------------------------------- label_frame


def test_label_frame_adds_strip_and_keeps_frame():
    frame = np.full((40, 120, 1), 100, dtype=np.uint8)
    out = viz.label_frame(frame, "epoch 3")
    strip = out.shape[0] - 40
    assert out.dtype == np.uint8 and out.shape == (40 + strip, 120, 3)
    assert 10 <= strip <= 30
    np.testing.assert_array_equal(out[strip:], np.repeat(frame, 3, axis=-1))
    top = out[:strip]
    assert (top == 255).mean() > 0.7  # a white strip ...
    assert top.min() < 60  # ... holding dark text


def test_label_frame_height_does_not_depend_on_text():
    frame = _digits(1, channels=3)[0]
    heights = {viz.label_frame(frame, t).shape for t in ["1", "epoch 10", "a caption far too long"]}
    assert len(heights) == 1
    assert viz.label_frame(frame, "a").shape[2] == 3
    assert not np.array_equal(viz.label_frame(frame, "1"), viz.label_frame(frame, "2"))


def test_label_frame_accepts_float_and_rejects_batches():
    out = viz.label_frame(np.zeros((20, 60, 1), dtype=np.float32), "x")
    assert out[-1, -1].tolist() == [128, 128, 128]
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        viz.label_frame(np.zeros((2, 20, 60, 1), dtype=np.uint8), "x")


# --------------------------------------------------------------------------- save_gif


def test_save_gif_round_trip(tmp_path):
    frames = list(_digits(4))
    captions = [f"epoch {e}" for e in range(1, 5)]
    path = viz.save_gif(frames, tmp_path / "out" / "progress.gif", captions=captions)
    assert path.exists() and path.suffix == ".gif"
    read, durations, loop = _gif_frames(path)
    assert len(read) == 4
    assert loop == 0  # forever
    assert durations == [400, 400, 400, 1500]
    # Grey frames survive GIF's 256-colour palette exactly, captions included.
    for got, frame, caption in zip(read, frames, captions, strict=False):
        np.testing.assert_array_equal(got, viz.label_frame(frame, caption))


def test_save_gif_timing_loop_and_colour(tmp_path):
    frames = viz.to_uint8(np.linspace(-1, 1, 3)[:, None, None, None] * np.ones((3, 8, 12, 3)))
    path = viz.save_gif(frames, tmp_path / "a.gif", seconds_per_frame=0.25, hold_last=2, loop=2)
    read, durations, loop = _gif_frames(path)
    assert durations == [250, 250, 2000] and loop == 2
    np.testing.assert_array_equal(np.stack(read), frames)


def test_save_gif_captions_change_pixels(tmp_path):
    frames = list(_digits(3))
    plain, _, _ = _gif_frames(viz.save_gif(frames, tmp_path / "plain.gif"))
    labelled_path = viz.save_gif(frames, tmp_path / "labelled.gif", captions=["a", "b", "c"])
    labelled, _, _ = _gif_frames(labelled_path)
    strip = labelled[0].shape[0] - plain[0].shape[0]
    assert strip > 0
    np.testing.assert_array_equal(labelled[0][strip:], plain[0])
    assert not np.array_equal(labelled[0][:strip], labelled[1][:strip])


def test_save_gif_from_saved_grey_pngs(tmp_path):
    # The usual pipeline: one grid PNG per epoch, read back (greyscale PNGs load as (H, W)).
    paths = [viz.save_image_grid(_digits(4, seed=e), tmp_path / f"e{e}.png") for e in range(3)]
    frames = [iio.imread(p) for p in paths]
    assert frames[0].ndim == 2
    path = viz.save_gif(frames, tmp_path / "run.gif", captions=["epoch 0", "epoch 1", "epoch 2"])
    read, _, _ = _gif_frames(path)
    np.testing.assert_array_equal(read[2], viz.label_frame(frames[2], "epoch 2"))


def test_save_gif_single_frame(tmp_path):
    read, durations, _ = _gif_frames(viz.save_gif(_digits(1), tmp_path / "one.gif"))
    assert len(read) == 1 and durations == [1500]


def test_save_gif_overwrites(tmp_path):
    path = tmp_path / "again.gif"
    viz.save_gif(list(_digits(3)), path)
    viz.save_gif(list(_digits(2, seed=1)), path)
    assert len(_gif_frames(path)[0]) == 2


@pytest.mark.parametrize(
    "frames, kwargs, match",
    [
        ([np.zeros((8, 8, 1), np.uint8)] * 2 + [np.zeros((8, 9, 1), np.uint8)], {}, "frame 2"),
        ([np.zeros((8, 8, 1), np.uint8), np.zeros((8, 8, 3), np.uint8)], {}, "frame 1"),
        ([np.zeros((2, 8, 8, 1), np.uint8)], {}, r"frame 0 must have shape \(H, W, C\)"),
        ([], {}, "at least one frame"),
        ([np.zeros((8, 8, 1), np.uint8)] * 2, {"captions": ["one"]}, "list of 2 strings"),
        ([np.zeros((8, 8, 1), np.uint8)] * 2, {"captions": "ab"}, "one per frame"),
        ([np.zeros((8, 8, 1), np.uint8)] * 2, {"seconds_per_frame": 0}, "seconds_per_frame"),
        ([np.zeros((8, 8, 1), np.uint8)] * 2, {"loop": -1}, "loop"),
    ],
)
def test_save_gif_rejects(tmp_path, frames, kwargs, match):
    with pytest.raises(ValueError, match=match):
        viz.save_gif(frames, tmp_path / "bad.gif", **kwargs)
    assert not (tmp_path / "bad.gif").exists()


# --------------------------------------------------------------------------- plot_history


def _gan_history(epochs: int = 6) -> dict[str, list[float]]:
    t = np.arange(epochs)
    return {
        "d_loss": list(1.2 - 0.1 * t),
        "g_loss": list(0.7 + 0.2 * t),
        "d_real": list(0.9 - 0.05 * t),
        "d_fake": list(0.1 + 0.05 * t),
    }


def _axes_by_title(fig: Figure) -> dict:
    return {ax.get_title(): ax for ax in fig.axes if ax.get_title()}


def test_plot_history_gan(tmp_path):
    path = tmp_path / "plots" / "history.png"
    fig = viz.plot_history(_gan_history(), path=path, title="DCGAN")
    assert isinstance(fig, Figure)
    axes = _axes_by_title(fig)
    assert set(axes) == {"Losses", "Discriminator outputs"}
    losses, scores = axes["Losses"], axes["Discriminator outputs"]
    assert [line.get_label() for line in losses.get_lines()] == ["d_loss", "g_loss"]
    np.testing.assert_array_equal(losses.get_lines()[0].get_xdata(), np.arange(1, 7))
    assert scores.get_ylabel() == "probability" and scores.get_ylim() == (0.0, 1.0)
    legend = [t.get_text() for t in scores.get_legend().get_texts()]
    assert legend[:2] == ["D(x)", "D(G(z))"]
    assert losses.get_xlabel() == "epoch" and fig.get_suptitle() == "DCGAN"
    # A real, non-blank PNG at ~100 dpi.
    assert path.stat().st_size > 10_000
    image = iio.imread(path)
    assert image.shape[0] == pytest.approx(fig.get_figheight() * 100, abs=2)
    assert image[..., :3].std() > 10


def test_plot_history_critic_scores_and_extra_metrics(tmp_path):
    history = _gan_history()
    history["d_real"] = [2.0, 3.0, 4.5, 5.0, 5.5, 6.0]  # a WGAN critic is unbounded
    history["d_fake"] = [-1.0, -2.0, -2.5, -3.0, -3.5, -4.0]
    history["fid"] = [300.0, 200.0, 120.0, 90.0, 70.0, 60.0]
    history["coverage"] = [0.1, 0.3, 0.5, 0.6, 0.7, 0.75]
    history["note"] = ["not", "numeric"]  # skipped, not plotted
    fig = viz.plot_history(history, path=tmp_path / "wgan.png")
    axes = _axes_by_title(fig)
    assert set(axes) == {"Losses", "Critic scores", "Metrics"}
    assert axes["Critic scores"].get_ylabel() == "critic score"
    ylabels = {ax.get_ylabel() for ax in fig.axes}
    assert {"fid", "coverage"} <= ylabels and "note" not in ylabels
    assert len(fig.axes) == 4  # the three panels plus a twin y-axis for the second metric
    assert (tmp_path / "wgan.png").stat().st_size > 10_000


def test_plot_history_draws_the_game_per_step_and_metrics_per_epoch():
    steps = {"step": [10, 20, 30, 40], "epoch": [1, 1, 2, 2], **_gan_history(4)}
    history = {**_gan_history(2), "fd": [80.0, 40.0]}
    fig = viz.plot_history(history, steps=steps, probabilities=True)
    axes = _axes_by_title(fig)
    assert set(axes) == {"Losses", "Discriminator outputs", "Metrics"}
    for title in ("Losses", "Discriminator outputs"):
        assert axes[title].get_xlabel() == "step"
        np.testing.assert_array_equal(axes[title].get_lines()[0].get_xdata(), steps["step"])
    assert axes["Metrics"].get_xlabel() == "epoch" and axes["Metrics"].get_ylabel() == "fd"
    # Only the step log, as the live notebook view draws it.
    assert len(viz.plot_history({}, steps=steps).axes) == 2


def test_plot_history_labels_critic_scores_when_told():
    # A hinge critic whose scores happen to lie in [0, 1] still is no probability.
    fig = viz.plot_history(_gan_history(), probabilities=False)
    scores = _axes_by_title(fig)["Critic scores"]
    legend = [t.get_text() for t in scores.get_legend().get_texts()]
    assert legend == ["critic(x)", "critic(G(z))"] and scores.get_ylabel() == "critic score"


def test_plot_history_skips_missing_keys():
    fig = viz.plot_history({"d_loss": [1.0, 0.9], "g_loss": [0.5, None]})
    assert list(_axes_by_title(fig)) == ["Losses"]


def test_plot_history_accepts_keras_history_object():
    class History:  # what model.fit returns: the dict lives in .history
        history = _gan_history(3)

    assert len(viz.plot_history(History()).axes) == 2


@pytest.mark.parametrize("empty", [{}, {"d_loss": []}, {"note": "text"}])
def test_plot_history_rejects_empty(empty):
    with pytest.raises(ValueError, match="nothing to plot"):
        viz.plot_history(empty)


# --------------------------------------------------------------------------- notebook figures


@pytest.mark.parametrize("channels", [1, 3])
def test_show_images(channels):
    fig = viz.show_images(_digits(6, channels), nrow=3, title="samples", scale=2)
    (ax,) = fig.axes
    assert not ax.axison and ax.get_title() == "samples"
    (image,) = ax.get_images()
    assert image.get_array().shape[:2] == viz.make_grid(_digits(6), nrow=3, scale=2).shape[:2]
    if channels == 1:
        assert image.get_cmap().name == "gray" and image.get_clim() == (0, 255)


def test_figures_render_as_png_without_pyplot():
    png = viz.show_images(_digits(2))._repr_png_()
    assert png.startswith(b"\x89PNG")


def test_plot_points():
    rng = np.random.default_rng(0)
    centers = np.array([[1.0, 0.0], [-1.0, 0.0]])
    fig = viz.plot_points(rng.normal(size=(50, 2)), rng.normal(size=(40, 2)), centers, "toy")
    (ax,) = fig.axes
    assert ax.get_title() == "toy"
    assert [len(c.get_offsets()) for c in ax.collections] == [50, 40, 2]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["real", "generated", "mode centers"]


def test_plot_points_into_given_axes():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert viz.plot_points(np.zeros((3, 2)), ax=right) is fig
    assert len(right.collections) == 1 and not left.collections
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        viz.plot_points(np.zeros((3, 3)))


def test_viz_does_not_import_tensorflow():
    source = Path(viz.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"tensorflow", "keras", "torch", "jax"}
