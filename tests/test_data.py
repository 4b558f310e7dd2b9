"""Tests for gan_kit.data: IDX parsing, offline tfds builds, pipelines and 2-D toys.

No test touches the network: name resolution is blocked for every test, and the download tests
patch tfds's downloader.
"""

import dataclasses
import gzip
import socket
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_datasets.core.download import downloader as tfds_downloader

from gan_kit import data
from gan_kit.data import DataError

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
IDX_SHAPES = {
    "train-images-idx3-ubyte.gz": (60000, 28, 28),
    "train-labels-idx1-ubyte.gz": (60000,),
    "t10k-images-idx3-ubyte.gz": (10000, 28, 28),
    "t10k-labels-idx1-ubyte.gz": (10000,),
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any host lookup fails at once, as on a machine without network."""

    def refuse(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "network disabled in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def raw_arrays(raw_dir: Path, name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    images = data.read_idx(raw_dir / name / f"{prefix}-images-idx3-ubyte.gz")
    labels = data.read_idx(raw_dir / name / f"{prefix}-labels-idx1-ubyte.gz")
    return images, labels


def fingerprints(images: np.ndarray, labels: np.ndarray) -> Counter:
    """Multiset of (pixels, label): equal for the same examples in any order."""
    images = images.reshape(len(images), -1)
    return Counter(
        image.tobytes() + bytes([label]) for image, label in zip(images, labels, strict=True)
    )


# --- read_idx ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("file", data.IDX_FILES)
def test_read_idx_shapes(raw_dir, name, file):
    array = data.read_idx(raw_dir / name / file)
    assert array.shape == IDX_SHAPES[file]
    assert array.dtype == np.uint8
    if "labels" in file:
        assert set(np.unique(array)) == set(range(10))


def test_read_idx_label_counts(raw_dir):
    _, mnist_labels = raw_arrays(raw_dir, "mnist", "test")
    assert np.bincount(mnist_labels).tolist() == MNIST_TEST_COUNTS
    for split, count in [("train", 6000), ("test", 1000)]:
        _, fashion_labels = raw_arrays(raw_dir, "fashion_mnist", split)
        assert np.bincount(fashion_labels).tolist() == [count] * 10


def test_read_idx_reads_plain_files(raw_dir, tmp_path):
    packed = raw_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"
    plain = tmp_path / "t10k-labels-idx1-ubyte"
    plain.write_bytes(gzip.decompress(packed.read_bytes()))
    np.testing.assert_array_equal(data.read_idx(plain), data.read_idx(packed))


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x00\x08\x01\x00\x00\x00\x05abc",  # 5 labels promised, 3 present
        b"\x08\x03\x00\x00\x00\x00\x00\x01\x00",  # bad magic number
        gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02a")[:-6],  # truncated gzip
        b"\x1f\x8b" + b"not really gzip",
    ],
    ids=["empty", "short", "magic", "truncated-gzip", "bad-gzip"],
)
def test_read_idx_rejects_corrupt_files(tmp_path, content):
    path = tmp_path / "broken-idx1-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"broken-idx1-ubyte\.gz"):
        data.read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        data.read_idx(tmp_path / "nope.gz")


# --- registry and paths -----------------------------------------------------------------------


def test_registry():
    assert set(data.DATASETS) == {
        "mnist",
        "fashion_mnist",
        "cifar10",
        "celeb_a",
        "oxford_flowers102",
        "cats",
    }
    assert data.get_dataset_info("mnist").image_shape == (28, 28, 1)
    assert data.get_dataset_info("cifar10").num_classes == 10
    assert data.get_dataset_info("cats").tfds_name == "cats_vs_dogs"
    assert not data.get_dataset_info("celeb_a").has_labels
    offline = {name for name, info in data.DATASETS.items() if info.offline_buildable}
    assert offline == {"mnist", "fashion_mnist"}
    for name, info in data.DATASETS.items():
        assert info.name == name
        assert info.has_labels == (info.num_classes is not None)


@pytest.mark.parametrize("call", [data.get_dataset_info, data.prepare_dataset, data.load_arrays])
def test_unknown_dataset_names_the_choices(call):
    with pytest.raises(DataError, match="unknown dataset 'mnsit'; choose one of: mnist, "):
        call("mnsit")


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_KIT_DATA_DIR", str(tmp_path))
    assert data.default_data_dir() == tmp_path
    monkeypatch.delenv("GAN_KIT_DATA_DIR")
    # This checkout is an editable install with a data/ folder.
    assert data.default_data_dir() == Path(data.__file__).resolve().parents[1] / "data"


def test_raw_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("GAN_KIT_RAW_DATA", raising=False)
    assert data.raw_data_dir() is None
    monkeypatch.setenv("GAN_KIT_RAW_DATA", str(tmp_path))
    assert data.raw_data_dir() == tmp_path
    assert data.raw_data_dir("elsewhere") == Path("elsewhere")


# --- tfds builds ------------------------------------------------------------------------------


def test_two_datasets_in_one_data_dir_keep_their_own_pixels(tfds_data_dir, raw_dir):
    """Built into one fresh data dir; a shared extract dir gives Fashion-MNIST MNIST's pixels."""
    for name in ("mnist", "fashion_mnist"):
        images, labels = data.load_arrays(name, "test", data_dir=tfds_data_dir)
        raw_images, raw_labels = raw_arrays(raw_dir, name, "test")
        assert fingerprints(images, labels) == fingerprints(raw_images, raw_labels)

        # The train split: a sample of tfds's examples, each found with its label in the raw set.
        images, labels = data.load_arrays(name, "train", data_dir=tfds_data_dir, limit=2000)
        raw_images, raw_labels = raw_arrays(raw_dir, name, "train")
        assert not fingerprints(images, labels) - fingerprints(raw_images, raw_labels)

    mnist, _ = data.load_arrays("mnist", "test", data_dir=tfds_data_dir, limit=100)
    fashion, _ = data.load_arrays("fashion_mnist", "test", data_dir=tfds_data_dir, limit=100)
    assert not set(map(bytes, mnist)) & set(map(bytes, fashion))


def test_load_arrays_shapes_and_dtypes(tfds_data_dir):
    images, labels = data.load_arrays("mnist", "train", data_dir=tfds_data_dir, limit=500)
    assert images.shape == (500, 28, 28, 1) and images.dtype == np.uint8
    assert labels.shape == (500,) and labels.dtype == np.int32
    assert 0 <= labels.min() and labels.max() <= 9 and images.max() == 255


def test_prepared_dataset_needs_no_files_and_no_network(tfds_data_dir, tmp_path):
    assert data.prepare_dataset("mnist", tfds_data_dir, raw_dir=tmp_path) == tfds_data_dir


def test_no_network_and_no_files_raises_data_error(monkeypatch, tmp_path):
    attempts = []

    def fail_download(url, **kwargs):
        attempts.append(url)
        raise requests.ConnectionError("no network (patched)")

    monkeypatch.setattr(tfds_downloader, "_open_url", fail_download)
    monkeypatch.delenv("GAN_KIT_RAW_DATA", raising=False)
    (tmp_path / "raw" / "mnist").mkdir(parents=True)
    (tmp_path / "raw" / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"")
    with pytest.raises(DataError) as error:
        data.prepare_dataset("mnist", tmp_path / "tfds", raw_dir=tmp_path / "raw")
    message = str(error.value)
    assert attempts, "prepare_dataset should try the download before giving up"
    for part in [
        "no network and no local files for 'mnist'",
        "lacks train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz",
        "GAN_KIT_RAW_DATA",
        "--raw-dir",
        "`make data`",
    ]:
        assert part in message


def test_altered_raw_files_raise_data_error(tmp_path, raw_dir):
    (tmp_path / "mnist").mkdir()
    for file in data.IDX_FILES[:3]:
        (tmp_path / "mnist" / file).symlink_to(raw_dir / "mnist" / file)
    (tmp_path / "mnist" / data.IDX_FILES[3]).write_bytes(b"not the original")
    with pytest.raises(DataError, match="are not the original mnist files"):
        data.prepare_dataset("mnist", tmp_path / "tfds", raw_dir=tmp_path)


def test_failing_download_fails_fast(tmp_path, monkeypatch):
    """Unpatched, tfds 4.9.10 retries each URL 10 times and gives up after ~205 s."""
    monkeypatch.delenv("GAN_KIT_RAW_DATA", raising=False)
    retries = tfds_downloader.MAX_RETRIES
    start = time.monotonic()
    with pytest.raises(DataError, match="no network and no local files for 'fashion_mnist'"):
        data.prepare_dataset("fashion_mnist", tmp_path)
    assert time.monotonic() - start < 30
    assert tfds_downloader.MAX_RETRIES == retries  # the limit is undone afterwards


def test_datasets_that_need_a_network_say_so(tmp_path, monkeypatch):
    monkeypatch.setattr(
        tfds_downloader, "_open_url", lambda url, **kwargs: (_ for _ in ()).throw(OSError("down"))
    )
    with pytest.raises(DataError) as error:
        data.prepare_dataset("celeb_a", tmp_path, raw_dir=tmp_path)
    message = str(error.value)
    assert "needs a network once" in message
    assert "python -m gan_kit data celeb_a" in message
    assert str(tmp_path / "celeb_a") in message


# --- make_dataset -----------------------------------------------------------------------------


def indexed_images(n: int, shape=(6, 6, 1)) -> tuple[np.ndarray, np.ndarray]:
    """Image i is filled with the value 10 * i, its label is i: batches reveal their order."""
    images = np.stack([np.full(shape, 10 * i, np.uint8) for i in range(n)])
    return images, np.arange(n, dtype=np.int64)


def batch_orders(ds: tf.data.Dataset) -> list[list[int]]:
    """The example indices in each batch, read back from the pixel values."""
    return [
        np.rint((x[:, 0, 0, 0] + 1) * 127.5 / 10).astype(int).tolist()
        for x in ds.as_numpy_iterator()
    ]


def test_make_dataset_range_dtype_and_shape():
    images = np.random.default_rng(0).integers(0, 256, (10, 28, 28, 1), dtype=np.uint8)
    images[0], images[1] = 0, 255
    batches = list(data.make_dataset(images, batch_size=4, epochs=1).as_numpy_iterator())
    assert [b.shape for b in batches] == [(4, 28, 28, 1), (4, 28, 28, 1), (2, 28, 28, 1)]
    x = np.concatenate(batches)
    assert x.dtype == np.float32 and x.min() == -1.0 and x.max() == 1.0
    np.testing.assert_allclose(np.sort(x.ravel()), np.sort(images.ravel() / 127.5 - 1), atol=1e-6)


def test_make_dataset_epochs_never_mix_and_last_batch_is_smaller():
    images, _ = indexed_images(10)
    orders = batch_orders(data.make_dataset(images, batch_size=4, epochs=2))
    assert [len(b) for b in orders] == [4, 4, 2, 4, 4, 2]
    for epoch in (orders[:3], orders[3:]):
        assert sorted(i for batch in epoch for i in batch) == list(range(10))
    assert data.steps_per_epoch(10, 4) == 3 and data.steps_per_epoch(8, 4) == 2


def test_make_dataset_labels_stay_with_their_images():
    images, labels = indexed_images(10)
    ds = data.make_dataset(images, labels, batch_size=4, epochs=2)
    for x, y in ds.as_numpy_iterator():
        assert y.dtype == np.int32
        np.testing.assert_array_equal(np.rint((x[:, 0, 0, 0] + 1) * 127.5 / 10), y)
    assert isinstance(
        next(iter(data.make_dataset(images, labels, batch_size=4, with_labels=False))), tf.Tensor
    )
    with pytest.raises(ValueError, match="one label per image"):
        data.make_dataset(images, batch_size=4, with_labels=True)


def test_make_dataset_order_depends_only_on_seed_and_epoch():
    images, _ = indexed_images(20)

    def orders(seed=0, epochs=3):
        return batch_orders(data.make_dataset(images, batch_size=20, seed=seed, epochs=epochs))

    assert orders() == orders()
    first, second, third = orders()
    assert first != second != third
    assert orders(seed=1) != orders()


def test_make_dataset_resumes_with_the_same_batches():
    images, _ = indexed_images(10)
    full = batch_orders(data.make_dataset(images, batch_size=4, seed=7, epochs=5))
    resumed = batch_orders(
        data.make_dataset(images, batch_size=4, seed=7, initial_epoch=2, epochs=5)
    )
    assert resumed == full[2 * 3 :]
    forever = data.make_dataset(images, batch_size=4, seed=7, initial_epoch=2)
    assert batch_orders(forever.take(9)) == resumed


def test_make_dataset_resizes_and_converts_channels():
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)  # no C axis
    x = next(iter(data.make_dataset(images, batch_size=5, image_shape=(32, 32, 3)))).numpy()
    assert x.shape == (5, 32, 32, 3)
    assert -1.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(x[..., 0], x[..., 2])

    rgb = np.random.default_rng(1).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    gray = next(iter(data.make_dataset(rgb, batch_size=5, image_shape=(16, 16, 1))))
    assert gray.shape == (5, 16, 16, 1)


def test_make_dataset_rejects_float_images():
    with pytest.raises(ValueError, match="uint8"):
        data.make_dataset(np.zeros((4, 8, 8, 1), np.float32), batch_size=2)


# --- make_tfds_dataset ------------------------------------------------------------------------


def test_make_tfds_dataset_streams_mnist(tfds_data_dir):
    ds = data.make_tfds_dataset(
        "mnist",
        batch_size=16,
        image_shape=(32, 32, 3),
        split="test[:40]",
        with_labels=True,
        data_dir=tfds_data_dir,
    )
    batches = list(ds.as_numpy_iterator())
    assert [x.shape for x, _ in batches] == [(16, 32, 32, 3), (16, 32, 32, 3), (8, 32, 32, 3)]
    x, y = batches[0]
    assert x.dtype == np.float32 and -1.0 <= x.min() and x.max() <= 1.0 and y.dtype == np.int32


def test_make_tfds_dataset_keeps_one_label(tfds_data_dir, monkeypatch):
    """The filter that keeps cats out of cats_vs_dogs, tried on MNIST's threes."""
    threes = dataclasses.replace(data.DATASETS["mnist"], name="threes", keep_label=3)
    monkeypatch.setitem(data.DATASETS, "threes", threes)
    ds = data.make_tfds_dataset(
        "threes", batch_size=50, split="test[:500]", with_labels=True, data_dir=tfds_data_dir
    )
    labels = np.concatenate([y for _, y in ds.as_numpy_iterator()])
    assert len(labels) > 20 and set(labels.tolist()) == {3}


def test_make_tfds_dataset_needs_a_shape_for_varying_images():
    with pytest.raises(ValueError, match="pass a fixed image_shape"):
        data.make_tfds_dataset("celeb_a", batch_size=4)
    with pytest.raises(ValueError, match="pass a fixed image_shape"):
        data.make_tfds_dataset("oxford_flowers102", batch_size=4, image_shape=(None, None, 3))
    with pytest.raises(ValueError, match="no class labels"):
        data.make_tfds_dataset("cats", batch_size=4, image_shape=(64, 64, 3), with_labels=True)


# --- toy 2-D distributions --------------------------------------------------------------------


def test_ring_and_grid_centers():
    ring = data.ring_centers(8, radius=2.0)
    assert ring.shape == (8, 2) and ring.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0, rtol=1e-6)
    np.testing.assert_allclose(ring[0], [2.0, 0.0], atol=1e-6)
    grid = data.grid_centers(5, spacing=2.0)
    assert grid.shape == (25, 2)
    assert sorted(set(grid[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


@pytest.mark.parametrize(
    "sample, centers, std",
    [
        (lambda **kw: data.sample_ring(4000, **kw), data.ring_centers(), 0.02),
        (lambda **kw: data.sample_grid(4000, **kw), data.grid_centers(), 0.05),
    ],
    ids=["ring", "grid"],
)
def test_toy_samplers(sample, centers, std):
    points = sample(seed=0)
    assert points.shape == (4000, 2) and points.dtype == np.float32
    modes, distances = data.nearest_mode(points, centers)
    assert set(modes.tolist()) == set(range(len(centers)))  # every mode covered
    assert distances.max() < 6 * std  # P(r > 6 std) = exp(-18) for a 2-D Gaussian
    np.testing.assert_array_equal(sample(seed=0), points)
    assert not np.array_equal(sample(seed=1), points)


def test_nearest_mode():
    centers = data.grid_centers(3, spacing=1.0)
    modes, distances = data.nearest_mode(centers + np.float32([0.1, 0.0]), centers)
    np.testing.assert_array_equal(modes, np.arange(9))
    np.testing.assert_allclose(distances, 0.1, rtol=1e-5)
