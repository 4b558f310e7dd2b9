"""showcase: GIFs upscaled with their timing, folders listed and zipped."""

import zipfile

import numpy as np
import pytest
from PIL import Image

from gan_kit import showcase, viz


@pytest.fixture
def gif(tmp_path):
    frames = [np.full((10, 12, 1), 40 * i, np.uint8) for i in range(4)]
    return viz.save_gif(frames, tmp_path / "small.gif", seconds_per_frame=0.2, hold_last=1.0)


def test_upscale_gif_keeps_frames_and_timing(gif, tmp_path):
    big = showcase.upscale_gif(gif, tmp_path / "out" / "big.gif", factor=3)
    small_frames, small_delays = showcase.read_gif(gif)
    big_frames, big_delays = showcase.read_gif(big)
    assert len(big_frames) == len(small_frames) == 4
    assert big_delays == small_delays == [200, 200, 200, 1000]
    assert big_frames[0].shape == (30, 36, 3)
    np.testing.assert_array_equal(big_frames[2][::3, ::3], small_frames[2])
    assert Image.open(big).info.get("loop") == 0


@pytest.mark.parametrize("factor", [0, 1.5, True])
def test_upscale_gif_rejects_bad_factors(gif, tmp_path, factor):
    with pytest.raises(ValueError, match="factor"):
        showcase.upscale_gif(gif, tmp_path / "x.gif", factor=factor)


def test_upscale_gif_names_a_missing_source(tmp_path):
    with pytest.raises(ValueError, match="no GIF"):
        showcase.upscale_gif(tmp_path / "missing.gif", tmp_path / "x.gif")


def test_list_format_and_zip(tmp_path):
    folder = tmp_path / "showcase"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"x" * 10)
    (folder / "sub" / "b.bin").write_bytes(b"y" * 3000)
    files = showcase.list_files(folder)
    assert files == [("a.txt", 10), ("sub/b.bin", 3000)]
    table = showcase.format_listing(files)
    assert "10 B" in table and "3 KB" in table and table.splitlines()[-1].startswith("total")
    archive = showcase.zip_folder(folder)
    assert archive == tmp_path / "showcase.zip"
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == ["showcase/a.txt", "showcase/sub/b.bin"]
    with pytest.raises(ValueError, match="not a folder"):
        showcase.list_files(tmp_path / "nothing")


def test_shrink_gif_inverts_upscale_gif(gif, tmp_path):
    big = showcase.upscale_gif(gif, tmp_path / "big.gif", factor=2)
    back = showcase.shrink_gif(big, tmp_path / "back.gif", factor=2)
    (frames, delays), (original, original_delays) = showcase.read_gif(back), showcase.read_gif(gif)
    assert delays == original_delays
    for a, b in zip(frames, original, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="factor"):
        showcase.shrink_gif(gif, tmp_path / "x.gif", factor=0)
