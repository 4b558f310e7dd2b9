"""Convolution arithmetic: every formula of gan_kit.shapes against what Keras builds."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

from gan_kit.models import build_dcgan_discriminator, build_dcgan_generator
from gan_kit.shapes import (
    conv_output_size,
    conv_transpose_output_size,
    format_layer_shapes,
    layer_output_shapes,
    transposed_conv_overlap,
)

GRID = list(itertools.product([1, 5, 8], [1, 2, 3, 4, 5], [1, 2, 3], ["valid", "same"]))


def _column(size: int) -> np.ndarray:
    # One spatial side: an (1, size, 1, 1) batch keeps the 2-D layers one-dimensional.
    return np.ones((1, size, 1, 1), "float32")


@pytest.mark.parametrize(("size", "kernel", "stride", "padding"), GRID)
def test_conv_output_size_matches_keras(size, kernel, stride, padding):
    if padding == "valid" and kernel > size:
        with pytest.raises(ValueError, match="does not fit"):
            conv_output_size(size, kernel, stride, padding)
        return
    layer = keras.layers.Conv2D(1, (kernel, 1), strides=(stride, 1), padding=padding)
    assert layer(_column(size)).shape[1] == conv_output_size(size, kernel, stride, padding)


@pytest.mark.parametrize(("size", "kernel", "stride", "padding"), GRID)
def test_conv_transpose_output_size_and_overlap_match_keras(size, kernel, stride, padding):
    layer = keras.layers.Conv2DTranspose(
        1,
        (kernel, 1),
        strides=(stride, 1),
        padding=padding,
        use_bias=False,
        kernel_initializer="ones",
    )
    out = np.asarray(layer(_column(size)))[0, :, 0, 0]
    assert out.shape[0] == conv_transpose_output_size(size, kernel, stride, padding)
    # All-ones input and kernel: each output pixel is the number of taps that reach it.
    np.testing.assert_array_equal(
        transposed_conv_overlap(size, kernel, stride, padding), out.round().astype(int)
    )


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "output_padding"),
    [(7, 5, 2, "same", 1), (7, 5, 2, "same", 0), (4, 3, 2, "valid", 1), (3, 3, 3, "valid", 2)],
)
def test_output_padding_matches_keras(size, kernel, stride, padding, output_padding):
    layer = keras.layers.Conv2DTranspose(
        1, (kernel, 1), strides=(stride, 1), padding=padding, output_padding=(output_padding, 0)
    )
    expected = conv_transpose_output_size(size, kernel, stride, padding, output_padding)
    assert layer(_column(size)).shape[1] == expected


def test_explicit_padding_formulas():
    # Dumoulin & Visin's examples: 5x5 input, 3x3 kernel, stride 2, padding 1 -> 3x3.
    assert conv_output_size(5, 3, 2, 1) == 3
    assert conv_transpose_output_size(3, 3, 2, 1) == 5
    assert conv_transpose_output_size(3, 3, 2, 1, output_padding=1) == 6


def test_stride_two_same_halves_and_doubles():
    for size, kernel in itertools.product([7, 14, 28, 32], [3, 4, 5]):
        assert conv_output_size(size, kernel, 2, "same") == -(-size // 2)
        assert conv_transpose_output_size(size, kernel, 2, "same") == 2 * size


def test_overlap_is_even_only_when_kernel_divisible_by_stride():
    even = transposed_conv_overlap(8, 4, 2)
    uneven = transposed_conv_overlap(8, 5, 2)
    assert set(even[2:-2]) == {2}
    assert set(uneven[2:-2]) == {2, 3}


def test_bad_arguments_say_what_works():
    with pytest.raises(ValueError, match="padding must be"):
        conv_output_size(28, 5, 2, "full")
    with pytest.raises(ValueError, match="stride must be"):
        conv_output_size(28, 5, 0)
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose_output_size(7, 5, 2, "same", output_padding=2)
    with pytest.raises(ValueError, match="input_size"):
        conv_transpose_output_size(True, 5, 2)


def test_layer_output_shapes_of_the_dcgan():
    generator = build_dcgan_generator(latent_dim=16, base_filters=4, kernel_size=4)
    discriminator = build_dcgan_discriminator(base_filters=4, kernel_size=4)
    g_rows = layer_output_shapes(generator)
    assert g_rows[0][2] == (16,)
    assert [shape for _, kind, shape, _ in g_rows if kind == "Conv2DTranspose"] == [
        (14, 14, 8),
        (28, 28, 1),
    ]
    assert sum(row[3] for row in g_rows) == generator.count_params()
    d_rows = layer_output_shapes(discriminator)
    assert [shape for _, kind, shape, _ in d_rows if kind == "Conv2D"] == [
        (14, 14, 4),
        (7, 7, 8),
    ]
    assert d_rows[-1][2] == (1,)
    text = format_layer_shapes(discriminator)
    assert text.splitlines()[-1].split()[-1] == f"{discriminator.count_params():,}"
