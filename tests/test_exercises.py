"""Exercise checks, and the student edition: solutions removed, executed top to bottom."""

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from gan_kit import exercises

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture
def lenient(monkeypatch):
    """Checks that only report, as in the student edition (notebooks/conftest.py sets strict)."""
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)


def not_done(x):
    raise NotImplementedError


def test_check_function_passes_and_returns_the_students_function(lenient, capsys):
    def square(x):
        return x * x

    assert exercises.check_function(square, np.square, [(2.0,), (np.arange(3.0),)]) is square
    assert capsys.readouterr().out == "[passed] square: matches the reference on 2 test inputs.\n"


def test_check_function_not_done_gives_the_hint_and_the_reference(lenient, capsys):
    assert exercises.check_function(not_done, np.square, [(2.0,)], hint="multiply x by x") is (
        np.square
    )
    assert capsys.readouterr().out == "[not done yet] not_done: multiply x by x\n"


@pytest.mark.parametrize(
    "wrong, expected_message",
    [
        (lambda x: x + x, "test input 2 ([3.]) gave 6.0, expected 9.0 (largest difference 3)"),
        (lambda x: np.stack([x, x]), "test input 1 ([2.]) gave shape (2,), expected ()"),
        (lambda x: x.undefined, "test input 1 ([2.]) raised AttributeError"),
        (lambda x: None, "test input 1 returned None: is a `return` missing?"),
    ],
)
def test_check_function_names_the_failing_input(lenient, capsys, wrong, expected_message):
    cases = [(np.float64(2.0),), (np.array([3.0]),)]
    assert exercises.check_function(wrong, np.square, cases, name="square") is np.square
    out = capsys.readouterr().out
    assert out.startswith("[failed] square: ") and expected_message in out, out


def test_strict_checks_raise(monkeypatch, capsys):
    monkeypatch.setenv(exercises.STRICT_ENV, "strict")
    with pytest.raises(exercises.ExerciseNotPassed, match="not done yet in the teacher's"):
        exercises.check_function(not_done, np.square, [(2.0,)])
    assert exercises.check_function(np.square, np.square, [(2.0,)]) is np.square


def test_check_model_compares_structure(lenient, capsys):
    import keras

    def reference():
        inputs = keras.Input((4,))
        return keras.Model(inputs, keras.layers.ReLU()(keras.layers.Dense(3)(inputs)))

    def no_relu():
        inputs = keras.Input((4,))
        return keras.Model(inputs, keras.layers.Dense(3)(inputs))

    def wider():
        inputs = keras.Input((4,))
        return keras.Model(inputs, keras.layers.ReLU()(keras.layers.Dense(5)(inputs)))

    assert exercises.check_model(reference, reference, name="net") is reference
    assert exercises.check_model(no_relu, reference, name="net") is reference
    assert exercises.check_model(wider, reference, name="net") is reference
    assert exercises.check_model(lambda: not_done(0), reference, name="net") is reference
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[passed] net: output (None, 3), 15 parameters")
    assert lines[1] == "[failed] net: layers ['Dense'], expected ['Dense', 'ReLU']."
    assert lines[2] == (
        "[failed] net: output shape (None, 5), expected (None, 3); 25 parameters, expected 15."
    )
    assert lines[3].startswith("[not done yet] net:")


def tagged_notebook():
    cell = nbformat.v4.new_code_cell
    return nbformat.v4.new_notebook(
        cells=[
            cell("def f(x):\n    raise NotImplementedError", metadata={"tags": ["exercise"]}),
            cell("def f(x):\n    return x", metadata={"tags": ["solution"]}),
            cell(
                "f = check(f)",
                metadata={"tags": ["check"]},
                outputs=[nbformat.v4.new_output("stream", text="[passed] f\n")],
            ),
        ]
    )


def test_student_edition_removes_solutions_and_check_outputs():
    teacher = tagged_notebook()
    student = exercises.student_edition(teacher)
    assert [c.source for c in student.cells] == [teacher.cells[0].source, "f = check(f)"]
    assert student.cells[1].outputs == [] and teacher.cells[2].outputs  # the teacher's is intact
    assert exercises.has_exercises(teacher) and not exercises.has_exercises(student)


def test_make_student_command(tmp_path):
    source = tmp_path / "01_x.ipynb"
    nbformat.write(tagged_notebook(), source)
    command = [sys.executable, "-m", "gan_kit.exercises"]
    done = subprocess.run([*command, str(tmp_path / "out"), str(source)], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert len(nbformat.read(tmp_path / "out" / "01_x.ipynb", 4).cells) == 2
    bad = subprocess.run([*command, str(tmp_path / "out")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: usage:")


def test_every_exercise_has_a_solution_and_a_check():
    """In the teacher's edition: each `exercise` cell is followed by its `solution`, then a
    `check` that calls a check of gan_kit.exercises."""
    counted = 0
    for path in NOTEBOOKS:
        cells = nbformat.read(path, 4).cells
        for i, cell in enumerate(cells):
            if "exercise" in cell.metadata.get("tags", []):
                counted += 1
                following = [c.metadata.get("tags", []) for c in cells[i + 1 : i + 3]]
                assert following == [["solution"], ["check"]], (path.name, i, following)
                assert "exercises.check_" in cells[i + 2].source, (path.name, i)
    assert counted >= 4


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [p for p in NOTEBOOKS if exercises.has_exercises(nbformat.read(p, 4))],
    ids=lambda p: p.name,
)
def test_student_edition_runs_with_the_exercises_undone(path, lenient, monkeypatch):
    """The student's notebook, in smoke mode, runs top to bottom, and every check says "not done
    yet" (later cells fall back to the kit's functions)."""
    from nbconvert.preprocessors import ExecutePreprocessor

    monkeypatch.setenv("GAN_KIT_MODE", "smoke")
    student = exercises.student_edition(nbformat.read(path, 4))
    start = time.perf_counter()
    ExecutePreprocessor(timeout=900).preprocess(student, {"metadata": {"path": str(path.parent)}})
    print(f"{path.name} student edition: {time.perf_counter() - start:.0f} s")
    checks = [c for c in student.cells if "check" in c.metadata.get("tags", [])]
    assert len(checks) >= 2
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert text.startswith("[not done yet] "), (cell.source, text)


def test_check_model_builds_around_a_part(lenient, capsys):
    """`build` assembles a network around a block; the kit's DCGAN block is the reference."""
    import keras

    from gan_kit.models.dcgan import dcgan_discriminator_block

    def build(block):
        images = keras.Input((28, 28, 1))
        return keras.Model(images, block(images, 16, 4))

    def without_norm(x, filters, kernel_size):
        return keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(filters, kernel_size, 2, "same")(x))

    assert exercises.check_model(without_norm, dcgan_discriminator_block, build=build) is (
        dcgan_discriminator_block
    )
    assert capsys.readouterr().out == (
        "[failed] without_norm: 272 parameters, expected 320; layers ['Conv2D', 'LeakyReLU'], "
        "expected ['Conv2D', 'BatchNormalization', 'LeakyReLU'].\n"
    )
