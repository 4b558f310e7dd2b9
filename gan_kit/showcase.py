"""A folder of pictures for class: GIFs at projector size, listed and zipped for download.

The run folders and `gan_kit.latent` write GIFs at a size that suits a notebook; on a
projector a 28-pixel digit wants 4x or more. These helpers upscale GIFs by repeating pixels
(digits stay crisp, frame delays are kept), list a folder with file sizes, and zip it:

    out = Path("runs/course/quick/showcase")
    upscale_gif(run_dir / "training.gif", out / "dcgan_training.gif", factor=2)
    shrink_gif(run_dir / "training.gif", "preview.gif", factor=2)   # to show inline
    print(format_listing(list_files(out)))
    zip_folder(out)                                   # showcase.zip beside the folder
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

PathLike = str | os.PathLike


def read_gif(path: PathLike) -> tuple[list[np.ndarray], list[int]]:
    """The frames of a GIF as RGB uint8 arrays (H, W, 3), and each frame's delay in ms."""
    frames, delays = [], []
    with Image.open(path) as gif:
        for index in range(getattr(gif, "n_frames", 1)):
            gif.seek(index)
            frames.append(np.asarray(gif.convert("RGB")))
            delays.append(int(gif.info.get("duration", 100)))
    return frames, delays


def upscale_gif(source: PathLike, target: PathLike, factor: int = 2) -> Path:
    """Writes `source` with every frame `factor` times larger (nearest neighbour), same timing.

    Args:
        source: an existing GIF, e.g. a run's training.gif.
        target: where to write the larger GIF; parent folders are created.
        factor: integer upscaling, >= 1 (1 copies the animation).

    Returns:
        The path written, as a `Path`; the GIF loops forever, as the kit's GIFs do.
    """
    factor = _check_factor(factor)
    frames, delays = read_gif(_existing(source))
    big = [f.repeat(factor, axis=0).repeat(factor, axis=1) for f in frames]
    return _write_gif(big, delays, target)


def _check_factor(factor: object) -> int:
    if isinstance(factor, bool) or int(factor) != factor or factor < 1:
        raise ValueError(f"factor must be an integer >= 1, got {factor!r}")
    return int(factor)


def _existing(source: PathLike) -> Path:
    source = Path(source)
    if not source.is_file():
        raise ValueError(f"no GIF at {source}; train the run (or write the GIF) first")
    return source


def _write_gif(frames: list[np.ndarray], delays: list[int], target: PathLike) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.ascontiguousarray(f)) for f in frames]
    images[0].save(
        target,
        save_all=True,
        append_images=images[1:],
        duration=delays,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return target


def shrink_gif(source: PathLike, target: PathLike, factor: int = 2) -> Path:
    """Writes `source` `factor` times smaller by keeping every `factor`-th pixel, same timing.

    The inverse of `upscale_gif` for frames that were upscaled by repeating pixels (the kit's
    grids and GIFs): a small preview to show inline, while the big file stays on disk. Text
    drawn at full resolution (the epoch captions) comes out thinner.
    """
    factor = _check_factor(factor)
    frames, delays = read_gif(_existing(source))
    return _write_gif([f[::factor, ::factor] for f in frames], delays, target)


def list_files(folder: PathLike) -> list[tuple[str, int]]:
    """(name relative to `folder`, size in bytes) of every file below it, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    return [
        (path.relative_to(folder).as_posix(), path.stat().st_size)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]


def _size(n_bytes: int) -> str:
    if n_bytes < 1024:
        return f"{n_bytes} B"
    if n_bytes < 1024**2:
        return f"{n_bytes / 1024:.0f} KB"
    return f"{n_bytes / 1024**2:.1f} MB"


def format_listing(files: list[tuple[str, int]]) -> str:
    """A two-column text table of `list_files`, with the total at the bottom."""
    width = max([len(name) for name, _ in files] + [5])
    lines = [f"{name:<{width}}  {_size(size):>8}" for name, size in files]
    lines.append(f"{'total':<{width}}  {_size(sum(size for _, size in files)):>8}")
    return "\n".join(lines)


def zip_folder(folder: PathLike, target: PathLike | None = None) -> Path:
    """Zips every file below `folder` into `target` (default: <folder>.zip beside it).

    GIFs and PNGs are compressed already, so the files are stored, not deflated.
    """
    folder = Path(folder)
    files = list_files(folder)
    target = Path(target) if target is not None else folder.with_suffix(".zip")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, _ in files:
            archive.write(folder / name, arcname=f"{folder.name}/{name}")
    return target
