"""A folder of pictures for class: GIFs at projector size, listed and zipped for download.

The run folders and `gan_kit.latent` write GIFs at a size that suits a notebook; on a
projector a 28-pixel digit wants 4x or more. These helpers upscale GIFs by repeating pixels
(digits stay crisp, frame delays are kept), list a folder with file sizes, and zip it:

    out = Path("runs/course/quick/showcase")
    upscale_gif(run_dir / "training.gif", out / "dcgan_training.gif", factor=2)
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
    if isinstance(factor, bool) or int(factor) != factor or factor < 1:
        raise ValueError(f"factor must be an integer >= 1, got {factor!r}")
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise ValueError(f"no GIF at {source}; train the run (or write the GIF) first")
    frames, delays = read_gif(source)
    factor = int(factor)
    big = [Image.fromarray(f.repeat(factor, axis=0).repeat(factor, axis=1)) for f in frames]
    target.parent.mkdir(parents=True, exist_ok=True)
    big[0].save(
        target,
        save_all=True,
        append_images=big[1:],
        duration=delays,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return target


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
