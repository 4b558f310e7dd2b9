"""Shared fixtures: the original MNIST / Fashion-MNIST files and one offline tfds build of both."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """Folder holding mnist/ and fashion_mnist/ with the original IDX files.

    $GAN_KIT_RAW_DATA, else <repo>/../shared/data. Missing files fail loudly instead of skipping:
    CI always has them.
    """
    from gan_kit.data import IDX_FILES

    raw = Path(os.environ.get("GAN_KIT_RAW_DATA") or REPO.parent / "shared" / "data")
    missing = [
        str(raw / name / file)
        for name in ("mnist", "fashion_mnist")
        for file in IDX_FILES
        if not (raw / name / file).is_file()
    ]
    if missing:
        pytest.fail(
            f"raw data files missing: {', '.join(missing)}. Set GAN_KIT_RAW_DATA to a folder "
            f"with mnist/ and fashion_mnist/ holding {', '.join(IDX_FILES)}",
            pytrace=False,
        )
    return raw


@pytest.fixture(autouse=True)
def op_determinism_ends_with_its_test():
    """`deterministic=True` turns TensorFlow's op determinism on for the rest of the process, with
    no public switch back; the suite turns it off after each test (private API, tests only), so
    that every test runs as it would alone."""
    yield
    from tensorflow.python.framework import config as tf_config

    if tf_config.is_op_determinism_enabled():
        tf_config.disable_op_determinism()


@pytest.fixture(scope="session")
def tfds_data_dir(tmp_path_factory: pytest.TempPathFactory, raw_dir: Path) -> Path:
    """A tfds data dir with MNIST and Fashion-MNIST built offline into it (~25 s each).

    Fresh every session on purpose: tests/test_data.py relies on it to show that two datasets
    built into one data dir keep their own pixels.
    """
    from gan_kit.data import prepare_dataset

    data_dir = tmp_path_factory.mktemp("tensorflow_datasets")
    for name in ("mnist", "fashion_mnist"):
        prepare_dataset(name, data_dir=data_dir, raw_dir=raw_dir)
    return data_dir


@pytest.fixture(scope="session")
def tiny_config():
    """A DCGAN small enough for seconds per epoch on 2 CPU cores, on the real MNIST pipeline."""
    from gan_kit.config import TrainConfig

    return TrainConfig(
        model="dcgan",
        dataset="mnist",
        latent_dim=16,
        generator_kwargs={"base_filters": 8, "kernel_size": 4},
        discriminator_kwargs={"base_filters": 8, "kernel_size": 4},
        ema_decay=0.99,
        batch_size=64,
        epochs=2,
        train_limit=256,
        grid_size=4,
    )


@pytest.fixture(scope="session")
def tiny_conditional_config(tiny_config):
    """The class-conditional MLP GAN of seed 001, tiny, for one-epoch runs."""
    from dataclasses import replace

    return replace(
        tiny_config,
        model="mlp",
        conditional=True,
        epochs=1,
        generator_kwargs={"hidden_units": (32,)},
        discriminator_kwargs={"hidden_units": (32,)},
    )
