"""Convolution arithmetic: the output sizes of (transposed) convolutions, and a model's shapes.

One spatial side at a time (square images use the same number twice), in Keras's conventions,
following Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning",
arXiv:1603.07285. With i the input size, k the kernel size, s the stride and p an explicit
zero padding on each side:

    convolution             o = floor((i + 2p - k) / s) + 1
        padding="valid"     p = 0:            o = floor((i - k) / s) + 1
        padding="same"      p chosen by Keras: o = ceil(i / s)
    transposed convolution  o = (i - 1) * s + k - 2p          (the convolution's inverse map)
        padding="valid"     o = (i - 1) * s + max(k, s)        (Keras: i * s + max(k - s, 0))
        padding="same"      o = i * s

A stride-2 "same" convolution halves the size (rounding up) and a stride-2 "same" transposed
convolution doubles it, whatever the kernel: that is why DCGAN uses them.

Example:
    >>> conv_output_size(28, kernel_size=5, stride=2, padding="same")
    14
    >>> conv_transpose_output_size(7, kernel_size=5, stride=2, padding="same")
    14
"""

from __future__ import annotations

import math
import numbers

import numpy as np

PADDINGS = ("valid", "same")


def _check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_padding(padding: object) -> str | int:
    if padding in PADDINGS:
        return padding
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool) and padding >= 0:
        return int(padding)
    raise ValueError(
        f"padding must be 'valid', 'same' or an integer >= 0 (zeros on each side), got {padding!r}"
    )


def conv_output_size(
    input_size: int, kernel_size: int, stride: int = 1, padding: str | int = "valid"
) -> int:
    """Output size of a convolution along one side (keras.layers.Conv2D, Conv1D).

    Formula:
    ```
    o = floor((i + 2p - k) / s) + 1      explicit padding p on each side
    o = floor((i - k) / s) + 1           padding="valid" (p = 0)
    o = ceil(i / s)                      padding="same" (Keras pads k - 1 or fewer zeros)
    ```

    Paper: Dumoulin & Visin 2016, arXiv:1603.07285, Relationship 6.

    Args:
        input_size: i, the input's height (or width).
        kernel_size: k.
        stride: s.
        padding: "valid", "same", or an int p of zeros added on each side.

    Returns:
        o, the output's height (or width).

    Raises:
        ValueError: for sizes < 1, an unknown padding, or a kernel larger than the padded input.
    """
    i = _check_positive("input_size", input_size)
    k = _check_positive("kernel_size", kernel_size)
    s = _check_positive("stride", stride)
    padding = _check_padding(padding)
    if padding == "same":
        return math.ceil(i / s)
    p = 0 if padding == "valid" else padding
    if i + 2 * p < k:
        raise ValueError(
            f"kernel_size {k} does not fit in input_size {i} with padding {padding!r}; "
            "use padding='same' or a smaller kernel"
        )
    return (i + 2 * p - k) // s + 1


def conv_transpose_output_size(
    input_size: int,
    kernel_size: int,
    stride: int = 1,
    padding: str | int = "valid",
    output_padding: int | None = None,
) -> int:
    """Output size of a transposed convolution along one side (keras.layers.Conv2DTranspose).

    Formula:
    ```
    o = (i - 1) * s + k - 2p + a         explicit padding p, output_padding a (default 0)
    o = (i - 1) * s + max(k, s)          padding="valid", output_padding=None
    o = i * s                            padding="same",  output_padding=None
    ```

    With output_padding=a given, Keras uses p = 0 for "valid" and p = floor(k / 2) for "same"
    in the first line. The max(k, s) of "valid" is Keras's: when the kernel is smaller than
    the stride it still leaves s pixels per input pixel, the gaps filled with zeros.

    Paper: Dumoulin & Visin 2016, arXiv:1603.07285, Relationships 8 to 14.

    Args:
        input_size: i, the input's height (or width).
        kernel_size: k.
        stride: s.
        padding: "valid", "same", or an int p of output pixels cropped on each side.
        output_padding: a, extra pixels on one side (0 <= a < s), or None.

    Returns:
        o, the output's height (or width).

    Raises:
        ValueError: for sizes < 1, an unknown padding, output_padding not in [0, stride), or
            a padding that leaves no output.
    """
    i = _check_positive("input_size", input_size)
    k = _check_positive("kernel_size", kernel_size)
    s = _check_positive("stride", stride)
    padding = _check_padding(padding)
    if output_padding is not None and not (
        isinstance(output_padding, numbers.Integral) and 0 <= output_padding < s
    ):
        raise ValueError(
            f"output_padding must be None or an integer in [0, stride={s}), got {output_padding!r}"
        )
    if output_padding is None and padding == "valid":
        return (i - 1) * s + max(k, s)
    if output_padding is None and padding == "same":
        return i * s
    p = {"valid": 0, "same": k // 2}.get(padding, padding)
    size = (i - 1) * s + k - 2 * p + (output_padding or 0)
    if size < 1:
        raise ValueError(f"padding {padding!r} crops away the whole output ({size}); pad less")
    return size


def transposed_conv_overlap(
    input_size: int, kernel_size: int, stride: int, padding: str = "same"
) -> np.ndarray:
    """How many kernel taps land on each output pixel of a transposed convolution (one side).

    A transposed convolution pastes one k-wide copy of the kernel per input pixel, s pixels
    apart. Output pixels covered by more copies get more of the signal: with k not divisible
    by s the count alternates, and on an image (the outer product of two sides) this is the
    checkerboard artefact of Odena, Dumoulin & Olah 2016 ("Deconvolution and Checkerboard
    Artifacts", Distill). With k divisible by s every pixel away from the border gets k / s.

    Formula:
    ```
    count[j] = #{(n, t) : n * s + t - crop = j, 0 <= n < i, 0 <= t < k}
    ```
    where crop is what Keras cuts from the start: 0 for "valid", and for "same"
    (full - i * s) // 2 with full = (i - 1) * s + max(k, s) the uncropped length.

    Args:
        input_size: i.
        kernel_size: k.
        stride: s.
        padding: "valid" or "same".

    Returns:
        int array of length `conv_transpose_output_size(i, k, s, padding)`; the 2-D pattern of
        a square kernel is `np.outer(count, count)`.
    """
    i = _check_positive("input_size", input_size)
    k = _check_positive("kernel_size", kernel_size)
    s = _check_positive("stride", stride)
    if padding not in PADDINGS:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    full = (i - 1) * s + max(k, s)
    counts = np.zeros(full, dtype=int)
    for n in range(i):
        counts[n * s : n * s + k] += 1
    size = conv_transpose_output_size(i, k, s, padding)
    crop = (full - size) // 2
    return counts[crop : crop + size]


def layer_output_shapes(model) -> list[tuple[str, str, tuple, int]]:
    """(layer name, layer class, output shape without the batch axis, parameters) per layer.

    For a functional `keras.Model`, input layers included; the rows are what `model.summary()`
    prints, as data that a notebook can assert on.

    Args:
        model: a built functional `keras.Model` whose layers have a single output.

    Returns:
        A list of tuples, input side first.
    """
    rows = []
    for layer in model.layers:
        shape = layer.output.shape
        rows.append((layer.name, type(layer).__name__, tuple(shape[1:]), layer.count_params()))
    return rows


def format_layer_shapes(model) -> str:
    """`layer_output_shapes` as an aligned text table (class, output shape, parameters)."""
    rows = layer_output_shapes(model)
    lines = [f"{'layer':<22}{'output shape':>18}{'params':>10}"]
    for _, kind, shape, params in rows:
        lines.append(f"{kind:<22}{str(shape):>18}{params:>10,}")
    lines.append(f"{'total':<22}{'':>18}{model.count_params():>10,}")
    return "\n".join(lines)
