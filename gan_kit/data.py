"""Datasets for the course: registry, offline preparation, input pipelines and 2-D toys.

Images enter every model as float32 in [-1, 1] (x / 127.5 - 1), the range of a tanh generator.
Two pipelines make batches of them:

* `make_dataset` for arrays in memory (MNIST, Fashion-MNIST, CIFAR-10 via `load_arrays`). The
  order of epoch e depends only on (seed, e), so a run resumed at epoch e sees the same batches
  as an uninterrupted one.
* `make_tfds_dataset` streams the big image sets (CelebA, Flowers-102, cats) from tfds.

A dataset name that is a path names a folder of your own images (`gan_kit.folders`); its
registry entry is made from the folder's files.

Offline machines: MNIST and Fashion-MNIST build from their four original IDX files, found in
`<raw>/<name>/` where raw is `raw_dir`, else `$GAN_KIT_RAW_DATA`. Everything else needs a network
once; tfds then keeps the prepared files in `data_dir` (`default_data_dir()`).

Never `keras.datasets` here: it deletes local files whose hash it cannot check against Google's.

Example:
    >>> images, labels = load_arrays("mnist")           # uint8 (60000, 28, 28, 1), int32 (60000,)
    >>> ds = make_dataset(images, labels, batch_size=128)
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import shutil
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import downloader as tfds_downloader
from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError

# The original file names, identical in the MNIST and Fashion-MNIST distributions.
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


class DataError(RuntimeError):
    """A dataset is missing, unknown or corrupt; the message says how to fix it."""


@dataclass(frozen=True)
class DatasetInfo:
    """What the kit knows about one dataset.

    Attributes:
        name: Our name, the key in `DATASETS`.
        tfds_name: The tensorflow-datasets builder name.
        image_shape: Native (H, W, C); None for a side whose size varies between images.
        num_classes: Number of class labels, or None.
        has_labels: Whether a conditional GAN can use the labels.
        offline_buildable: Buildable from local raw files (`IDX_FILES`) without a network.
        source: Citation line.
        train_split: The tfds split used for training.
        keep_label: Keep only the examples with this tfds label (cats out of cats_vs_dogs).
    """

    name: str
    tfds_name: str
    image_shape: tuple[int | None, int | None, int]
    num_classes: int | None
    has_labels: bool
    offline_buildable: bool
    source: str
    train_split: str = "train"
    keep_label: int | None = None


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            name="mnist",
            tfds_name="mnist",
            image_shape=(28, 28, 1),
            num_classes=10,
            has_labels=True,
            offline_buildable=True,
            source="LeCun, Cortes & Burges (1998), MNIST handwritten digits; CC BY-SA 3.0",
        ),
        DatasetInfo(
            name="fashion_mnist",
            tfds_name="fashion_mnist",
            image_shape=(28, 28, 1),
            num_classes=10,
            has_labels=True,
            offline_buildable=True,
            source="Xiao, Rasul & Vollgraf (2017), Fashion-MNIST, arXiv:1708.07747; MIT",
        ),
        DatasetInfo(
            name="cifar10",
            tfds_name="cifar10",
            image_shape=(32, 32, 3),
            num_classes=10,
            has_labels=True,
            offline_buildable=False,
            source="Krizhevsky (2009), Learning Multiple Layers of Features from Tiny Images",
        ),
        # The 40 attributes are not class labels; the 218x178 faces are center-cropped square.
        DatasetInfo(
            name="celeb_a",
            tfds_name="celeb_a",
            image_shape=(218, 178, 3),
            num_classes=None,
            has_labels=False,
            offline_buildable=False,
            source="Liu, Luo, Wang & Tang (2015), Deep Learning Face Attributes in the Wild",
        ),
        # tfds's "train" split has only 1020 images; a GAN wants all 8189.
        DatasetInfo(
            name="oxford_flowers102",
            tfds_name="oxford_flowers102",
            image_shape=(None, None, 3),
            num_classes=102,
            has_labels=True,
            offline_buildable=False,
            source="Nilsback & Zisserman (2008), Automated Flower Classification over a Large "
            "Number of Classes",
            train_split="train+validation+test",
        ),
        DatasetInfo(
            name="cats",
            tfds_name="cats_vs_dogs",
            image_shape=(None, None, 3),
            num_classes=None,
            has_labels=False,
            offline_buildable=False,
            source="Elson, Douceur, Howell & Saul (2007), Asirra; Microsoft Cats vs. Dogs",
            keep_label=0,  # tfds cats_vs_dogs: 0 = cat, 1 = dog
        ),
    ]
}


def get_dataset_info(name: str) -> DatasetInfo:
    """Returns the registry entry for `name`, or raises DataError listing the choices.

    A path (see `folders.looks_like_folder`) gets an entry made from its images: their shape
    ((None, None, C) when sizes differ) and, when every image is in a sub-folder, one class per
    sub-folder.
    """
    from gan_kit import folders

    if name in DATASETS:
        return DATASETS[name]
    if folders.looks_like_folder(name):
        try:
            scan = folders.scan_folder(name)
        except folders.FolderError as error:
            raise DataError(str(error)) from None
        return DatasetInfo(
            name=name,
            tfds_name="",
            image_shape=folders.folder_image_shape(scan),
            num_classes=len(scan.class_names) if scan.labels is not None else None,
            has_labels=scan.labels is not None,
            offline_buildable=True,
            source=f"your images: {len(scan.files)} files in {name}",
        )
    raise DataError(
        f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}, or a folder of images"
    )


def default_data_dir() -> Path:
    """Where tfds keeps prepared datasets.

    $GAN_KIT_DATA_DIR if set; else the repository's data/ in an editable checkout; else
    ~/tensorflow_datasets, the tfds default.
    """
    if env := os.environ.get("GAN_KIT_DATA_DIR"):
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[1]
    # pyproject.toml tells an editable checkout from site-packages, which may hold a stray data/.
    if (repo / "data").is_dir() and (repo / "pyproject.toml").is_file():
        return repo / "data"
    return Path.home() / "tensorflow_datasets"


def raw_data_dir(raw_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder holding `mnist/` and `fashion_mnist/` IDX files: the argument, else
    $GAN_KIT_RAW_DATA, else None.
    """
    raw = raw_dir if raw_dir is not None else os.environ.get("GAN_KIT_RAW_DATA")
    return Path(raw).expanduser() if raw else None


# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"); data is big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads an IDX file (gzipped or plain) such as `train-images-idx3-ubyte.gz`.

    Returns:
        The array in native byte order: uint8 (N, 28, 28) for MNIST images, uint8 (N,) for labels.

    Raises:
        DataError: the file is missing, truncated or not IDX.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"cannot read IDX file {path}: {error}") from None
    corrupt = DataError(
        f"corrupt IDX file {path}: bad magic number or size; replace it with the original file"
    )
    # Magic number: two zero bytes, a type code, the number of dimensions.
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise corrupt
    dtype, offset = np.dtype(_IDX_DTYPES[raw[2]]), 4 + 4 * raw[3]
    if len(raw) < offset:
        raise corrupt
    shape = tuple(int(d) for d in np.frombuffer(raw[4:offset], ">u4"))
    if len(raw) != offset + math.prod(shape) * dtype.itemsize:
        raise corrupt
    return np.frombuffer(raw, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


@contextlib.contextmanager
def _fail_fast_downloads(retries: int = 2, timeout: tuple[float, float] = (10.0, 60.0)) -> Iterator:
    """Makes a tfds download without network fail within seconds instead of minutes.

    Measured with tfds 4.9.10 on a machine without network: each URL is retried 10 times with
    exponential back-off (urllib3, factor 0.2, up to 102 s), so `download_and_prepare` raised
    requests.ConnectionError (NameResolutionError) after 205 s. tfds also sets no socket timeout,
    so a firewall that drops packets would hang each attempt. Here: 3 attempts of at most 10 s
    to connect. Both knobs are private to tfds; if a later version renames them we fall back to
    its own behaviour (tests/test_data.py would then notice the slow failure).
    """
    if not hasattr(tfds_downloader, "MAX_RETRIES") or not hasattr(tfds_downloader, "_open_url"):
        yield
        return
    open_url = tfds_downloader._open_url

    def open_url_with_timeout(url, **kwargs):
        kwargs.setdefault("timeout", timeout)  # (connect, read) seconds for requests
        return open_url(url, **kwargs)

    saved = tfds_downloader.MAX_RETRIES
    tfds_downloader.MAX_RETRIES, tfds_downloader._open_url = retries, open_url_with_timeout
    try:
        yield
    finally:
        tfds_downloader.MAX_RETRIES, tfds_downloader._open_url = saved, open_url


def _short(error: BaseException, width: int = 120) -> str:
    """'Type: first line' cut to `width` characters: tfds's messages run to several lines."""
    text = f"{type(error).__name__}: {str(error).partition(chr(10))[0]}"
    return text if len(text) <= width else text[: width - 3] + "..."


def prepare_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    raw_dir: str | os.PathLike | None = None,
) -> Path:
    """Makes sure the tfds dataset `name` is built in `data_dir`; returns data_dir.

    Order: already prepared -> nothing; `<raw>/<name>/` holds the four `IDX_FILES` (MNIST and
    Fashion-MNIST) -> build offline; otherwise download. Each dataset gets its own download and
    extract folder: tfds names an extraction after the file alone, and both datasets use the same
    file names, so a shared folder silently builds Fashion-MNIST from MNIST's pixels.

    Raises:
        DataError: no local files and the download failed, or the local files are not the
            originals. The message says where to put which files.
    """
    info = get_dataset_info(name)
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    builder = tfds.builder(info.tfds_name, data_dir=data_dir)
    if builder.is_prepared():
        return data_dir

    raw = raw_data_dir(raw_dir)
    manual_dir = raw / name if raw is not None and info.offline_buildable else None
    missing = [f for f in IDX_FILES if manual_dir is None or not (manual_dir / f).is_file()]
    config = tfds.download.DownloadConfig(
        manual_dir=None if missing else manual_dir,
        extract_dir=data_dir / "downloads" / "extracted" / name,
        # Online or not, MNIST then builds from the same four files (tfds 4.9.10 keeps its GCS
        # mirror switched off anyway).
        try_download_gcs=not info.offline_buildable,
    )
    download_dir = data_dir / "downloads" / name
    if not missing:
        try:
            builder.download_and_prepare(download_dir=download_dir, download_config=config)
        except NonMatchingChecksumError as error:
            raise DataError(
                f"the files in {manual_dir} are not the original {name} files ({_short(error)}); "
                f"replace them with the originals ({', '.join(IDX_FILES)})"
            ) from None
        # The decompressed copies (~55 MB per dataset) only serve the build; the originals stay.
        shutil.rmtree(config.extract_dir, ignore_errors=True)
        return data_dir

    try:
        with _fail_fast_downloads():
            builder.download_and_prepare(download_dir=download_dir, download_config=config)
    # requests' errors are OSErrors; a proxy's HTML error page fails the checksum.
    except (OSError, tfds.download.DownloadError, NonMatchingChecksumError) as error:
        if info.offline_buildable:
            found = ""
            if manual_dir is not None:
                found = (
                    f" ({manual_dir} lacks {', '.join(missing)})"
                    if manual_dir.is_dir()
                    else f" ({manual_dir} does not exist)"
                )
            message = (
                f"no network and no local files for {name!r}{found}. Put the four original "
                f"files ({', '.join(IDX_FILES)}) in <RAW>/{name}/ and set GAN_KIT_RAW_DATA=<RAW> "
                f"(or --raw-dir <RAW>), or run `make data` on a machine with internet"
            )
        else:
            message = (
                f"{name!r} is not prepared in {data_dir} and the download failed. It needs a "
                f"network once: run `python -m gan_kit data {name}` (as `make data` does for "
                f"MNIST) on a machine with internet; tfds stores it in "
                f"{data_dir / info.tfds_name}, so copy that folder here or set GAN_KIT_DATA_DIR "
                f"to the folder holding it"
            )
        raise DataError(f"{message} [{_short(error)}]") from None
    return data_dir


def load_arrays(
    name: str,
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    raw_dir: str | os.PathLike | None = None,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Loads a whole split of a small dataset into memory.

    Args:
        name: "mnist", "fashion_mnist" or "cifar10".
        split: A tfds split, e.g. "train" or "test".
        limit: Keep only the first `limit` examples (in tfds order).

    Returns:
        images uint8 (N, H, W, C) and labels int32 (N,), or None for a dataset without labels.
    """
    info = get_dataset_info(name)
    if None in info.image_shape:
        raise ValueError(f"{name!r} has images of varying size; stream it with make_tfds_dataset")
    data_dir = prepare_dataset(name, data_dir, raw_dir)
    builder = tfds.builder(info.tfds_name, data_dir=data_dir)
    spec = f"{split}[:{limit}]" if limit is not None else split
    # batch_size=-1 turns the split into one tensor per feature.
    example = tfds.as_numpy(builder.as_dataset(split=spec, batch_size=-1))
    labels = example["label"].astype(np.int32) if info.has_labels else None
    return example["image"].astype(np.uint8), labels


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Batches per epoch when the last, smaller batch is kept: ceil(num_examples / batch_size)."""
    return -(-num_examples // batch_size)


def _to_model_range(images: tf.Tensor, image_shape: tuple[int, int, int] | None) -> tf.Tensor:
    """uint8 (B, H, W, C) -> float32 (B, *image_shape) in [-1, 1]."""
    x = tf.cast(images, tf.float32) / 127.5 - 1.0
    if image_shape is None:
        return x
    height, width, channels = image_shape
    if tuple(x.shape[1:3]) != (height, width):
        x = tf.image.resize(x, (height, width), antialias=True)
        x = tf.clip_by_value(x, -1.0, 1.0)  # float rounding of the filter may step past +-1
    if x.shape[-1] == 1 and channels == 3:
        x = tf.image.grayscale_to_rgb(x)
    elif x.shape[-1] == 3 and channels == 1:
        x = tf.image.rgb_to_grayscale(x)
    elif x.shape[-1] != channels:
        raise ValueError(f"cannot convert {x.shape[-1]} channels to {channels}; use 1 or 3")
    return x


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    batch_size: int,
    image_shape: tuple[int, int, int] | None = None,
    seed: int = 0,
    initial_epoch: int = 0,
    epochs: int | None = None,
    with_labels: bool | None = None,
    replicas: tuple[int, Sequence[int]] | None = None,
) -> tf.data.Dataset:
    """The in-memory training pipeline, resumable batch for batch.

    Epoch e visits the examples in a permutation drawn statelessly from (seed, e): a pipeline
    started at `initial_epoch=e` yields exactly the batches an uninterrupted one yields from
    epoch e on. Batches never mix epochs; the last batch of an epoch is smaller (not dropped).

    Args:
        images: uint8 (N, H, W, C), or (N, H, W) for grayscale.
        labels: Integer class labels (N,), or None.
        batch_size: Examples per batch.
        image_shape: (H, W, C) to resize (bilinear, antialiased) and convert channels 1 <-> 3 to.
        seed: Seeds every epoch's permutation.
        initial_epoch: First epoch to yield.
        epochs: Stop before this epoch; None repeats forever.
        with_labels: Yield (images, labels); defaults to `labels is not None`.
        replicas: (N, ids) under tf.distribute: yield, for each global batch, the slices of the
            replicas `ids` of N (`split_batches`); each worker gathers only its own images.

    Returns:
        A dataset of float32 (B, H, W, C) in [-1, 1], or of (images, int32 labels (B,)).

    Example:
        >>> ds = make_dataset(images, labels, batch_size=4, epochs=1)  # 10 images: 4, 4, 2
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"images must be uint8 (N, H, W[, C]), got {images.dtype} {images.shape}")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    num_examples = len(images)
    with_labels = labels is not None if with_labels is None else with_labels
    if with_labels and (labels is None or len(labels) != num_examples):
        raise ValueError(f"with_labels needs one label per image ({num_examples})")
    if num_examples == 0 or batch_size < 1:
        raise ValueError(f"need images and batch_size >= 1, got {num_examples}, {batch_size}")
    if epochs is not None and epochs <= initial_epoch:
        raise ValueError(f"epochs ({epochs}) must exceed initial_epoch ({initial_epoch})")

    # One copy of the data; each batch gathers its rows by index, so epochs cost no memory.
    images_t = tf.constant(images)
    labels_t = tf.constant(np.asarray(labels, np.int32)) if with_labels else None

    def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
        order = tf.random.experimental.stateless_shuffle(
            tf.range(num_examples, dtype=tf.int64),
            seed=tf.stack([tf.constant(seed, tf.int64), epoch]),
        )
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
        return batches if replicas is None else split_batches(batches, *replicas)

    def gather(index: tf.Tensor):
        x = _to_model_range(tf.gather(images_t, index), image_shape)
        return (x, tf.gather(labels_t, index)) if with_labels else x

    epochs_ds = (
        tf.data.Dataset.counter(initial_epoch)
        if epochs is None
        else tf.data.Dataset.range(initial_epoch, epochs)
    )
    return (
        epochs_ds.flat_map(epoch_batches)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE)  # keeps order (deterministic)
        .prefetch(tf.data.AUTOTUNE)
    )


def split_batches(batches: tf.data.Dataset, num_replicas: int, replica_ids: Sequence[int]):
    """Each batch cut into `num_replicas` consecutive slices of near-equal size; the slices of
    `replica_ids`, in that order, one element each.

    Replica r of N gets rows [r * B // N, (r + 1) * B // N) of a batch of B, so the replicas of
    a `tf.distribute` run together train on exactly the global batch that one device would
    (the pipeline of a worker with several devices yields its devices' slices in turn, as
    `Strategy.distribute_datasets_from_function` hands them out). A batch smaller than N would
    leave a replica an empty slice: `runs.training_data` refuses such sizes.

    Example:
        >>> split_batches(ds.batch(8), 2, [1])  # the second half of every batch of 8
    """
    ids = tf.constant(list(replica_ids), tf.int64)

    def split(*batch):
        batch = batch[0] if len(batch) == 1 else batch
        size = tf.shape(tf.nest.flatten(batch)[0], out_type=tf.int64)[0]
        bounds = tf.range(num_replicas + 1, dtype=tf.int64) * size // num_replicas
        return tf.data.Dataset.from_tensor_slices(ids).map(
            lambda r: tf.nest.map_structure(lambda t: t[bounds[r] : bounds[r + 1]], batch)
        )

    return batches.flat_map(split)


def _center_crop_square(image: tf.Tensor) -> tf.Tensor:
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    return tf.image.crop_to_bounding_box(
        image, (shape[0] - side) // 2, (shape[1] - side) // 2, side, side
    )


def make_tfds_dataset(
    name: str,
    *,
    batch_size: int,
    image_shape: tuple[int, int, int] | None = None,
    split: str | None = None,
    with_labels: bool = False,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    raw_dir: str | os.PathLike | None = None,
    shuffle_buffer: int = 10_000,
) -> tf.data.Dataset:
    """The streaming pipeline for datasets too big for memory (CelebA, Flowers-102, cats).

    Reads tfds, keeps the wanted label (cats), center-crops to a square, resizes to
    `image_shape`, scales to [-1, 1], shuffles with `seed`, batches (last batch smaller) and
    prefetches. One pass per iteration, reshuffled each pass. Exact resume (same batches after
    a restart) is only guaranteed for the in-memory `make_dataset`.

    Args:
        name: A key of `DATASETS`.
        batch_size: Examples per batch.
        image_shape: (H, W, C) to train at; required unless the images share one square size.
        split: A tfds split; defaults to the dataset's `train_split`.
        with_labels: Yield (images, int32 labels (B,)).
        shuffle_buffer: Examples held for shuffling (kept JPEG-encoded, ~10 kB each).

    Returns:
        A dataset of float32 (B, H, W, C) in [-1, 1], or of (images, labels).

    Example:
        >>> ds = make_tfds_dataset("celeb_a", batch_size=64, image_shape=(64, 64, 3))
    """
    info = get_dataset_info(name)
    height, width, _ = info.image_shape
    if image_shape is None and height is not None and height == width:
        image_shape = info.image_shape
    if image_shape is None or None in image_shape:
        raise ValueError(
            f"{name!r} images are {height or 'varying'}x{width or 'varying'}, cropped square: "
            f"pass a fixed image_shape, e.g. (64, 64, 3), not {image_shape}"
        )
    if with_labels and not info.has_labels:
        raise ValueError(f"{name!r} has no class labels; use with_labels=False")
    data_dir = prepare_dataset(name, data_dir, raw_dir)
    builder = tfds.builder(info.tfds_name, data_dir=data_dir)
    ds = builder.as_dataset(
        split=split or info.train_split,
        shuffle_files=True,
        read_config=tfds.ReadConfig(shuffle_seed=seed),
        # Shuffle the encoded bytes: a buffer of decoded 218x178 faces would take ~1 GB.
        decoders={"image": tfds.decode.SkipDecoding()},
    )
    if info.keep_label is not None:
        ds = ds.filter(lambda example: example["label"] == info.keep_label)
    image_feature = builder.info.features["image"]

    def preprocess(example: dict):
        image = _center_crop_square(image_feature.decode_example(example["image"]))
        x = _to_model_range(image[tf.newaxis], image_shape)[0]
        x = tf.ensure_shape(x, image_shape)
        return (x, tf.cast(example["label"], tf.int32)) if with_labels else x

    return (
        ds.shuffle(shuffle_buffer, seed=seed)
        .map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )


# Toy 2-D distributions: the ring of Metz et al. (2016, arXiv:1611.02163) and the 5x5 grid of
# Srivastava et al. (2017, VEEGAN, arXiv:1705.07761), where mode collapse is visible by eye.


def ring_centers(num_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """float32 (num_modes, 2): points evenly spaced on a circle, the first at (radius, 0)."""
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float32)


def grid_centers(grid_size: int = 5, spacing: float = 2.0) -> np.ndarray:
    """float32 (grid_size**2, 2): a square grid centred on 0 (5x5, spacing 2: -4..4)."""
    axis = (np.arange(grid_size) - (grid_size - 1) / 2) * spacing
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def _sample_mixture(n: int, centers: np.ndarray, std: float, seed: int) -> np.ndarray:
    """n points of an equal-weight mixture of isotropic Gaussians."""
    rng = np.random.default_rng(seed)
    modes = rng.integers(len(centers), size=n)
    return (centers[modes] + std * rng.standard_normal((n, 2))).astype(np.float32)


def sample_ring(
    n: int, num_modes: int = 8, radius: float = 2.0, std: float = 0.02, seed: int = 0
) -> np.ndarray:
    """float32 (n, 2) from the ring of `num_modes` Gaussians (Metz et al., 2016)."""
    return _sample_mixture(n, ring_centers(num_modes, radius), std, seed)


def sample_grid(
    n: int, grid_size: int = 5, spacing: float = 2.0, std: float = 0.05, seed: int = 0
) -> np.ndarray:
    """float32 (n, 2) from the grid of grid_size**2 Gaussians (VEEGAN, 2017)."""
    return _sample_mixture(n, grid_centers(grid_size, spacing), std, seed)


def nearest_mode(points: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For points (n, 2) and centers (k, 2): index int64 (n,) and distance float32 (n,) of each
    point's nearest center. A mode counts as covered when enough points sit within ~3 std of it.
    """
    points, centers = np.asarray(points, np.float32), np.asarray(centers, np.float32)
    distances = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=-1)
    indices = distances.argmin(axis=1)
    return indices, distances[np.arange(len(points)), indices]
