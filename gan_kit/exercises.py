"""Exercises in the notebooks: check cells, and the student edition made from the teacher's.

The committed notebooks are the teacher's edition. An exercise there is three cells:

* a starter cell, tagged `exercise` (kept in both editions): the function to write, whose body
  raises `NotImplementedError`;
* a solution cell, tagged `solution` (removed from the student edition): the same function,
  written out;
* a check cell, tagged `check`: `exercises.check_function(...)` or `exercises.check_model(...)`
  runs the student's code on test inputs against the kit's reference and prints one line:
  "passed", "not done yet" (with a hint) or a precise failure.

A check never stops the notebook: it hands back the student's function when it passes and the
kit's reference otherwise, so the cells after it run either way (`loss = check_function(loss,
...)`). Under `GAN_KIT_CHECKS=strict` (the teacher's edition in CI and `make notebooks`) a
check that does not pass raises `ExerciseNotPassed` instead, so a broken solution fails the
build.

`make student` writes the student edition (`write_student_edition`): nbconvert's
`TagRemovePreprocessor` drops the solution cells, and the check cells' outputs are cleared, so
that students do not see the teacher's "passed".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

STRICT_ENV = "GAN_KIT_CHECKS"
SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
CHECK_TAG = "check"

PASSED = "passed"
NOT_DONE = "not done yet"
FAILED = "failed"


class ExerciseNotPassed(AssertionError):
    """A check that did not pass while `GAN_KIT_CHECKS=strict` (the teacher's edition)."""


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "").lower() == "strict"


def _report(name: str, status: str, message: str) -> str:
    marks = {PASSED: "[passed]", NOT_DONE: "[not done yet]", FAILED: "[failed]"}
    print(f"{marks[status]} {name}: {message}")
    if status != PASSED and _strict():
        raise ExerciseNotPassed(
            f"{name}: {status} in the teacher's edition ({STRICT_ENV}=strict); fix its "
            f"solution cell: {message}"
        )
    return status


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value, dtype=np.float64)


def _describe(args: Sequence[Any]) -> str:
    def short(a):
        array = np.asarray(a.numpy() if hasattr(a, "numpy") else a)
        if array.size <= 4:
            return np.array2string(array.ravel(), precision=3, separator=", ")
        return f"array of shape {array.shape}"

    return ", ".join(short(a) for a in args)


def check_function(
    student: Callable,
    reference: Callable,
    cases: Iterable[Sequence[Any]],
    *,
    name: str | None = None,
    hint: str = "",
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> Callable:
    """Compare `student(*case)` with `reference(*case)` on each case; return the one to use.

    Prints one line: passed, not done yet (the student's function still raises
    `NotImplementedError`; `hint` follows) or failed, naming the first case that differs, the
    two results and the largest difference. Results are compared as float arrays: same shape
    (after squeezing size-1 axes), then `np.allclose(student, reference, rtol, atol)`.

    Args:
        student: the function the student wrote.
        reference: the kit's function with the same signature.
        cases: argument tuples to call both with.
        name: the exercise's name in the message (default: the student's function name).
        hint: one sentence that helps a student who has not started.
        atol, rtol: tolerances of `np.allclose`; the defaults allow float32 rounding.

    Returns:
        `student` when it passes, else `reference`, so the notebook's later cells run with a
        correct function either way.

    Raises:
        ExerciseNotPassed: only under `GAN_KIT_CHECKS=strict`, when the check does not pass.

    Example:
        >>> square = lambda x: x * x
        >>> f = check_function(square, np.square, [(2.0,), (-3.0,)], name="square")
        [passed] square: matches the reference on 2 test inputs.
    """
    name = name or getattr(student, "__name__", "your function")
    cases = [tuple(case) for case in cases]
    for number, case in enumerate(cases, 1):
        try:
            got = student(*case)
        except NotImplementedError:
            _report(name, NOT_DONE, hint or "replace the `raise NotImplementedError` line.")
            return reference
        except Exception as error:  # any bug in the student's code: report it, do not stop
            _report(
                name,
                FAILED,
                f"test input {number} ({_describe(case)}) raised {type(error).__name__}: {error}",
            )
            return reference
        if got is None:
            _report(name, FAILED, f"test input {number} returned None: is a `return` missing?")
            return reference
        got, expected = _as_array(got), _as_array(reference(*case))
        if np.squeeze(got).shape != np.squeeze(expected).shape:
            _report(
                name,
                FAILED,
                f"test input {number} ({_describe(case)}) gave shape {got.shape}, expected "
                f"{expected.shape}.",
            )
            return reference
        got, expected = np.squeeze(got), np.squeeze(expected)
        if not np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=False):
            gap = float(np.nanmax(np.abs(got - expected))) if got.size else float("nan")
            _report(
                name,
                FAILED,
                f"test input {number} ({_describe(case)}) gave {np.round(got, 4).tolist()}, "
                f"expected {np.round(expected, 4).tolist()} (largest difference {gap:.3g}).",
            )
            return reference
    _report(name, PASSED, f"matches the reference on {len(cases)} test inputs.")
    return student


def _layer_kinds(model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers if type(layer).__name__ != "InputLayer"]


def check_model(
    student: Callable,
    reference: Callable,
    *,
    build: Callable[[Callable], Any] | None = None,
    name: str | None = None,
    hint: str = "",
) -> Callable:
    """Compare the network built with the student's code with the reference's; return the one
    to use.

    Without `build`, `student()` and `reference()` build the networks; with it, `build(student)`
    and `build(reference)` do (for an exercise that is a part of a network, such as a block:
    `build` assembles a network around it). Weights are random, so the check compares
    structure: the output shape, the number of parameters and the sequence of layer kinds
    (Conv2D, BatchNormalization, LeakyReLU, ...).

    Args:
        student: what the student wrote: a builder, or a part that `build` uses.
        reference: the kit's builder or part, used the same way.
        build: assembles a `keras.Model` from a part; None when the parts are builders.
        name: the exercise's name in the message (default: the student's function name).
        hint: one sentence that helps a student who has not started.

    Returns:
        `student` when it passes, else `reference`.

    Raises:
        ExerciseNotPassed: only under `GAN_KIT_CHECKS=strict`, when the check does not pass.
    """
    name = name or getattr(student, "__name__", "your network")
    make = build or (lambda builder: builder())
    try:
        model = make(student)
    except NotImplementedError:
        _report(name, NOT_DONE, hint or "replace the `raise NotImplementedError` line.")
        return reference
    except Exception as error:
        _report(name, FAILED, f"building it raised {type(error).__name__}: {error}")
        return reference
    expected = make(reference)
    problems = []
    if tuple(model.output.shape) != tuple(expected.output.shape):
        problems.append(
            f"output shape {tuple(model.output.shape)}, expected {tuple(expected.output.shape)}"
        )
    if model.count_params() != expected.count_params():
        problems.append(
            f"{model.count_params():,} parameters, expected {expected.count_params():,}"
        )
    kinds, expected_kinds = _layer_kinds(model), _layer_kinds(expected)
    if kinds != expected_kinds:
        problems.append(f"layers {kinds}, expected {expected_kinds}")
    if problems:
        _report(name, FAILED, "; ".join(problems) + ".")
        return reference
    _report(
        name,
        PASSED,
        f"output {tuple(model.output.shape)}, {model.count_params():,} parameters, layers as "
        "expected.",
    )
    return student


def student_edition(notebook):
    """The student's copy of a teacher's notebook (an `nbformat` node): solution cells removed
    by nbconvert's `TagRemovePreprocessor`, and the check cells' outputs cleared (they showed
    the teacher's "passed")."""
    import copy

    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    remover = TagRemovePreprocessor(
        config=Config({"TagRemovePreprocessor": {"remove_cell_tags": {SOLUTION_TAG}}}),
        enabled=True,
    )
    notebook, _ = remover.preprocess(copy.deepcopy(notebook), {})
    for cell in notebook.cells:
        if CHECK_TAG in cell.metadata.get("tags", []):
            cell.outputs, cell.execution_count = [], None
    return notebook


def has_exercises(notebook) -> bool:
    """Whether a notebook (an `nbformat` node) has a solution cell."""
    return any(SOLUTION_TAG in cell.metadata.get("tags", []) for cell in notebook.cells)


def write_student_edition(notebooks: Iterable[str | Path], out_dir: str | Path) -> list[Path]:
    """Write the student edition of each notebook into `out_dir`; return the files written.

    Every notebook is copied (those without exercises unchanged), so the folder is a whole
    course. Usage: `python -m gan_kit.exercises OUT_DIR NOTEBOOK...` (`make student`).
    """
    import nbformat

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in map(Path, notebooks):
        notebook = nbformat.read(path, as_version=4)
        target = out_dir / path.name
        nbformat.write(student_edition(notebook), target)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print(
            "error: usage: python -m gan_kit.exercises OUT_DIR NOTEBOOK... (e.g. build/student "
            "notebooks/*.ipynb)",
            file=sys.stderr,
        )
        return 2
    missing = [a for a in args[1:] if not Path(a).is_file()]
    if missing:
        print(f"error: no such notebook: {', '.join(missing)}; pass .ipynb files", file=sys.stderr)
        return 2
    for target in write_student_edition(args[1:], args[0]):
        print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
