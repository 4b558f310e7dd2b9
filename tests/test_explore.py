"""`explore` on small real runs: every picture is written, and inversion finds the generator's
own images far better than real digits it never made."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_kit import cli
from gan_kit.explore import explore_run
from gan_kit.runs import train


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tfds_data_dir, raw_dir, tiny_config, tiny_conditional_config):
    root = tmp_path_factory.mktemp("explore")
    kwargs = {"data_dir": tfds_data_dir, "raw_dir": raw_dir, "verbose": 0}
    plain = train(replace(tiny_config, epochs=1), root / "plain", **kwargs).run_dir
    return plain, train(tiny_conditional_config, root / "conditional", **kwargs).run_dir


def test_explore_writes_every_picture(runs, tfds_data_dir, raw_dir):
    plain, _ = runs
    summary = explore_run(plain, data_dir=tfds_data_dir, raw_dir=raw_dir, inversion_steps=60)
    for name in ("interpolation", "latent_walk", "truncation", "inversion"):
        assert Path(summary["files"][name]).parent == plain / "explore"
        assert Path(summary["files"][name]).stat().st_size > 0
    assert Image.open(summary["files"]["latent_walk"]).n_frames > 10
    inversion = summary["inversion"]
    assert np.mean(inversion["generated_mse"]) < 0.1 * np.mean(inversion["real_mse"])
    assert json.loads((plain / "explore" / "summary.json").read_text()) == summary


def test_explore_is_deterministic(runs, tfds_data_dir, raw_dir):
    plain, _ = runs
    first = explore_run(plain, seed=3, data_dir=tfds_data_dir, raw_dir=raw_dir, inversion_steps=20)
    picture = Image.open(first["files"]["interpolation"]).tobytes()
    second = explore_run(plain, seed=3, data_dir=tfds_data_dir, raw_dir=raw_dir, inversion_steps=20)
    assert Image.open(second["files"]["interpolation"]).tobytes() == picture
    assert first["inversion"] == second["inversion"]


def test_explore_command_on_a_conditional_run_morphs_classes(runs, tfds_data_dir, raw_dir, capsys):
    _, conditional = runs
    argv = [
        "explore",
        str(conditional),
        "--data-dir",
        str(tfds_data_dir),
        "--raw-dir",
        str(raw_dir),
    ]
    assert cli.main(argv) == 0
    assert "class_morph" in capsys.readouterr().out
    assert Image.open(conditional / "explore" / "class_morph.gif").n_frames > 2
    assert (conditional / "explore" / "class_morph.png").exists()
