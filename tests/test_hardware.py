"""Precision follows the hardware: float16 on recent GPUs, bfloat16 on bf16 CPUs, else float32."""

import pytest

from gan_kit import hardware


@pytest.mark.parametrize(
    ("gpus", "flags", "expected"),
    [
        ([(8, 0)], frozenset(), "mixed_float16"),
        ([(7, 0), (7, 5)], frozenset(), "mixed_float16"),
        ([(6, 1)], frozenset({"avx512_bf16"}), "float32"),  # Pascal: no tensor cores
        ([], frozenset({"avx2", "avx512_bf16"}), "mixed_bfloat16"),
        ([], frozenset({"amx_bf16"}), "mixed_bfloat16"),
        ([], frozenset({"avx2", "fma"}), "float32"),
    ],
)
def test_auto_precision_follows_the_hardware(monkeypatch, gpus, flags, expected):
    monkeypatch.setattr(hardware, "gpu_compute_capabilities", lambda: gpus)
    monkeypatch.setattr(hardware, "cpu_flags", lambda: flags)
    assert hardware.auto_precision() == expected
    assert hardware.resolve_precision("auto") == expected
    assert expected in hardware.describe()


def test_forced_precisions_pass_through_and_unknown_ones_are_refused():
    for name in hardware.PRECISIONS:
        assert hardware.resolve_precision(name) == name
    with pytest.raises(ValueError, match="'auto' or one of"):
        hardware.resolve_precision("float64")


def test_this_machine_is_described():
    text = hardware.describe()
    assert "precision 'auto' means" in text
    assert hardware.auto_precision() in hardware.PRECISIONS
