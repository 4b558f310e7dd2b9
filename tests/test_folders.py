"""Your own images: a folder of generated PNGs trains, resumes and fails with one-line errors."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_kit import cli, data, folders
from gan_kit.runs import load_run, resolve_shapes, train


def _shape_image(kind: str, index: int, size: int, mode: str = "L") -> Image.Image:
    """A bright disc or square on black, at a position set by `index` (no two alike)."""
    rng = np.random.default_rng(index)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
    radius = rng.uniform(size * 0.15, size * 0.3)
    if kind == "discs":
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    else:
        mask = (abs(yy - cy) <= radius) & (abs(xx - cx) <= radius)
    pixels = (mask * 255).astype(np.uint8)
    image = Image.fromarray(pixels, "L")
    return image.convert(mode)


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory) -> Path:
    """240 grayscale 32x32 PNGs in two class sub-folders, one of them nested a level deeper."""
    root = tmp_path_factory.mktemp("shapes")
    for kind in ("discs", "squares"):
        for i in range(120):
            folder = root / kind / ("more" if i % 2 else "")
            folder.mkdir(parents=True, exist_ok=True)
            _shape_image(kind, i, 32).save(folder / f"{kind}_{i:03d}.png")
    (root / "README.txt").write_text("not an image")
    return root


def _tiny(tiny_config, folder, **changes):
    return replace(tiny_config, dataset=str(folder), train_limit=None, **changes)


def test_scan_finds_classes_sizes_and_channels(shapes_folder):
    scan = folders.scan_folder(shapes_folder)
    assert len(scan.files) == 240
    assert scan.class_names == ("discs", "squares")
    assert scan.labels.count(0) == scan.labels.count(1) == 120
    assert scan.sizes == {(32, 32)} and scan.channels == 1
    info = data.get_dataset_info(str(shapes_folder))
    assert info.image_shape == (32, 32, 1) and info.num_classes == 2 and info.has_labels


def test_load_resizes_crops_and_converts(tmp_path, shapes_folder):
    images, labels, names = folders.load_folder(shapes_folder, size=(28, 28))
    assert images.shape == (240, 28, 28, 1) and images.dtype == np.uint8
    assert labels.tolist() == [0] * 120 + [1] * 120 and names == ("discs", "squares")
    assert images.max() == 255 and images.min() == 0
    rgb, _, _ = folders.load_folder(shapes_folder, channels=3, limit=5)
    assert rgb.shape == (5, 32, 32, 3)
    # A wide colour image is centre-cropped: the middle square survives, the sides go.
    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, 20:40] = (255, 0, 0)
    (tmp_path / "wide").mkdir()
    Image.fromarray(wide).save(tmp_path / "wide" / "a.png")
    cropped, labels, _ = folders.load_folder(tmp_path / "wide", size=(10, 10))
    assert labels is None and cropped.shape == (1, 10, 10, 3)
    assert cropped[0, :, :, 0].min() == 255 and cropped[0, :, :, 1].max() == 0


def _corrupt(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)


def test_a_corrupt_file_among_good_ones_is_skipped_and_counted(tmp_path):
    for i in range(6):
        _shape_image("discs", i, 28).save(tmp_path / f"{i}.png")
    _corrupt(tmp_path / "6.png")
    with pytest.warns(UserWarning, match=r"skipped 1 of 7 image files .*6\.png"):
        images, labels, _ = folders.load_folder(tmp_path)
    assert images.shape == (6, 28, 28, 1) and labels is None


@pytest.mark.parametrize(
    "make, phrase",
    [
        (lambda root: None, "does not exist"),
        (lambda root: root.mkdir(), "no PNG or JPEG images"),
        (lambda root: (root.mkdir(), (root / "a.txt").write_text("x")), "no PNG or JPEG images"),
        (lambda root: (root.mkdir(), _corrupt(root / "a.png")), "none of the 1 image files"),
    ],
)
def test_bad_folders_say_what_is_wrong(tmp_path, make, phrase):
    root = tmp_path / "mine"
    make(root)
    with pytest.raises(data.DataError, match=phrase):
        data.get_dataset_info(str(root))


def test_mixed_sizes_need_an_image_size(tmp_path):
    _shape_image("discs", 0, 28).save(tmp_path / "a.png")
    _shape_image("discs", 1, 40).save(tmp_path / "b.png")
    with pytest.raises(folders.FolderError, match="2 different sizes .*--image-size"):
        folders.load_folder(tmp_path)
    assert folders.load_folder(tmp_path, size=(28, 28))[0].shape == (2, 28, 28, 1)


def test_conditional_needs_two_class_folders(tmp_path, tiny_config):
    one_class = tmp_path / "one_class"
    flat = one_class / "discs"  # its images sit in no sub-folder of their own
    flat.mkdir(parents=True)
    for i in range(4):
        _shape_image("discs", i, 28).save(flat / f"{i}.png")
    with pytest.raises(ValueError, match="two or more classes.*1 class sub-folder"):
        resolve_shapes(_tiny(tiny_config, one_class, conditional=True))
    with pytest.raises(ValueError, match="0 class sub-folder"):
        resolve_shapes(_tiny(tiny_config, flat, conditional=True))


def test_a_folder_trains_and_resumes_to_the_same_weights(tmp_path, shapes_folder, tiny_config):
    config = _tiny(tiny_config, shapes_folder, epochs=2, image_shape=(28, 28, 1))
    train(config, tmp_path / "straight", verbose=0)
    train(replace(config, epochs=1), tmp_path / "stopped", verbose=0)
    train(run_dir=tmp_path / "stopped", resume=True, epochs=2, verbose=0)
    gan_a, saved = load_run(tmp_path / "straight")
    gan_b, _ = load_run(tmp_path / "stopped")
    assert saved.dataset == str(shapes_folder)
    for a, b in zip(gan_a.get_weights(), gan_b.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    history = json.loads((tmp_path / "stopped" / "checkpoints" / "state.json").read_text())
    assert len(history["history"]["d_loss"]) == 2
    assert gan_a.generate(4, seed=0).shape == (4, 28, 28, 1)


def test_a_conditional_gan_learns_the_sub_folders(tmp_path, shapes_folder, tiny_conditional_config):
    config = _tiny(tiny_conditional_config, shapes_folder, image_shape=(28, 28, 1))
    train(config, tmp_path / "cgan", verbose=0)
    gan, _ = load_run(tmp_path / "cgan")
    assert resolve_shapes(config) == ((28, 28, 1), 2)
    assert gan.conditional and gan.generate(labels=[0, 1, 1]).shape == (3, 28, 28, 1)


def test_the_command_line_trains_on_a_folder(capsys, tmp_path, shapes_folder, tiny_config):
    config_file = tmp_path / "tiny.json"
    replace(tiny_config, epochs=1).save(config_file)
    status = cli.main(
        ["train", "--config", str(config_file), "--dataset", str(shapes_folder),
         "--image-size", "28", "--out", str(tmp_path / "run")]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    _, config = load_run(tmp_path / "run")
    assert config.dataset == str(shapes_folder) and config.image_shape == (28, 28, 1)
    status = cli.main(
        ["train", "--config", str(config_file), "--dataset", str(tmp_path / "nowhere"),
         "--out", str(tmp_path / "run2")]
    )  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert status == 2 and err.startswith("error: ") and "does not exist" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "run2").exists()
