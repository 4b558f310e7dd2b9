"""Your own images: a folder of PNG and JPEG files as a training set.

`--dataset PATH` (and `TrainConfig.dataset`) names a folder instead of a dataset of the
registry. Every `*.png`, `*.jpg` and `*.jpeg` under it counts, nested folders included. When
every image sits in a first-level sub-folder, the sub-folder names (sorted) are the class
labels, so a conditional GAN can learn them (`cats/`, `dogs/` -> labels 0 and 1).

The folder is read once per run into memory (uint8, in sorted path order) and then goes
through `data.make_dataset`, the pipeline of the in-memory datasets: shuffled per epoch from
(seed, epoch) and resumable batch for batch.

Sizes and channels: with an image size (`--image-size`, `TrainConfig.image_shape`) each image is
centre-cropped to a square and resized to it; without one every image must have the same size.
Channels follow `--channels` or, by default, the files: 1 when every image is grayscale, else 3.

A file that cannot be decoded is skipped with a warning that says how many were skipped (one
bad download should not stop a run of thousands); a folder with no readable image is an error.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class FolderError(ValueError):
    """A folder of images cannot be used; the message says why and what would."""


@dataclass(frozen=True)
class FolderScan:
    """What a folder holds, from the files' headers (no pixel is decoded).

    Attributes:
        root: The folder.
        files: Image files, sorted by path.
        labels: One class id per file, or None when the images are not all in sub-folders.
        class_names: Sub-folder names in label order, or ().
        sizes: The distinct (height, width) of the readable headers.
        channels: 1 when every readable image is grayscale, else 3.
    """

    root: Path
    files: tuple[Path, ...]
    labels: tuple[int, ...] | None
    class_names: tuple[str, ...]
    sizes: frozenset[tuple[int, int]]
    channels: int


def looks_like_folder(name: str) -> bool:
    """Whether a dataset name is meant as a path: it has a path separator or exists."""
    return os.sep in name or "/" in name or Path(name).expanduser().is_dir()


def scan_folder(path: str | os.PathLike) -> FolderScan:
    """Lists the images of a folder and reads their headers.

    Raises:
        FolderError: the folder is missing, holds no PNG or JPEG file, or no readable one.
    """
    from PIL import Image

    root = Path(path).expanduser()
    if not root.is_dir():
        raise FolderError(f"image folder {str(path)!r} does not exist (or is not a folder)")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FolderError(
            f"no PNG or JPEG images in {str(root)!r} (looked for {', '.join(IMAGE_SUFFIXES)}, "
            "in sub-folders too)"
        )
    sizes, grayscale = set(), True
    for file in files:
        try:
            with Image.open(file) as image:
                sizes.add((image.height, image.width))
                grayscale &= image.mode in ("1", "L", "I", "I;16", "F", "LA")
        except OSError:
            continue  # reported, with a count, when the pixels are read
    if not sizes:
        raise FolderError(f"none of the {len(files)} image files in {str(root)!r} can be read")
    parents = [file.relative_to(root).parts for file in files]
    labels, class_names = None, ()
    if all(len(parts) >= 2 for parts in parents):
        class_names = tuple(sorted({parts[0] for parts in parents}))
        labels = tuple(class_names.index(parts[0]) for parts in parents)
    return FolderScan(
        root=root,
        files=tuple(files),
        labels=labels,
        class_names=class_names,
        sizes=frozenset(sizes),
        channels=1 if grayscale else 3,
    )


def folder_image_shape(scan: FolderScan) -> tuple[int | None, int | None, int]:
    """(H, W, C) of the folder's images; (None, None, C) when their sizes differ."""
    if len(scan.sizes) == 1:
        ((height, width),) = scan.sizes
        return (height, width, scan.channels)
    return (None, None, scan.channels)


def _crop_and_resize(image, size: tuple[int, int]):
    from PIL import Image

    side = min(image.width, image.height)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    return image.resize((size[1], size[0]), Image.Resampling.BILINEAR, reducing_gap=None)


def load_folder(
    path: str | os.PathLike,
    *,
    size: tuple[int, int] | None = None,
    channels: int | None = None,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...]]:
    """Reads a folder of images into memory.

    Args:
        path: The folder (nested folders allowed).
        size: (height, width) to centre-crop and resize every image to; None keeps the files'
            size, which must then be the same for all.
        channels: 1 (grayscale) or 3 (RGB); None follows the files.
        limit: Read only the first N files (sorted by path).

    Returns:
        (images uint8 (N, H, W, C), labels int32 (N,) or None, class names).

    Raises:
        FolderError: as `scan_folder`, or mixed sizes without `size`, or no readable image.

    Example:
        >>> images, labels, names = load_folder("my_photos", size=(64, 64))
    """
    from PIL import Image

    scan = scan_folder(path)
    if size is None and len(scan.sizes) > 1:
        examples = " and ".join(f"{w}x{h}" for h, w in sorted(scan.sizes)[:2])
        raise FolderError(
            f"the images in {str(scan.root)!r} have {len(scan.sizes)} different sizes "
            f"({examples}, ...); choose one with --image-size (e.g. 64)"
        )
    channels = channels or scan.channels
    if channels not in (1, 3):
        raise FolderError(f"channels must be 1 or 3, got {channels}")
    mode = "L" if channels == 1 else "RGB"
    files = scan.files[:limit] if limit else scan.files
    images, kept, skipped = [], [], []
    for index, file in enumerate(files):
        try:
            with Image.open(file) as image:
                image.load()
                image = image.convert(mode)
        except OSError:
            skipped.append(file)
            continue
        if size is not None and (image.height, image.width) != tuple(size):
            image = _crop_and_resize(image, size)
        array = np.asarray(image, dtype=np.uint8)
        images.append(array[..., np.newaxis] if channels == 1 else array)
        kept.append(index)
    if not images:
        raise FolderError(f"none of the {len(files)} image files in {str(scan.root)!r} can be read")
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} of {len(files)} image files in {str(scan.root)!r} that "
            f"could not be read (first: {skipped[0].name})",
            stacklevel=2,
        )
    labels = None
    if scan.labels is not None:
        labels = np.asarray([scan.labels[i] for i in kept], np.int32)
    return np.stack(images), labels, scan.class_names
