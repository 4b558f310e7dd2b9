"""The notebooks' shared helpers: the mode switch and runs that are trained once, then reused."""

import json
from dataclasses import replace

import pytest

from gan_kit import course


@pytest.mark.parametrize("mode", ["smoke", "quick", "full"])
def test_by_mode_picks_the_current_mode(monkeypatch, mode):
    monkeypatch.setenv("GAN_KIT_MODE", mode)
    assert course.by_mode(smoke=1, quick=2, full=3) == {"smoke": 1, "quick": 2, "full": 3}[mode]
    assert course.dcgan_mnist_config().validate()
    assert course.dcgan_mnist_config().time_budget is None  # outputs independent of the CPU
    assert course.dcgan_mnist_config().discriminator_kwargs["base_filters"] in (8, 32)
    assert course.conditional_mnist_config().conditional


def test_an_unknown_mode_is_refused(monkeypatch):
    monkeypatch.setenv("GAN_KIT_MODE", "fast")
    with pytest.raises(ValueError, match="smoke, quick, full"):
        course.by_mode(smoke=1, quick=2, full=3)


def test_course_run_trains_once_then_reuses(
    tmp_path, tiny_config, tfds_data_dir, monkeypatch, capsys
):
    monkeypatch.setenv("GAN_KIT_DATA_DIR", str(tfds_data_dir))
    config = replace(tiny_config, epochs=1, precision="float32")
    run_dir = course.course_run("tiny", config, root=tmp_path / "tiny", verbose=0)
    checkpoint = run_dir / "checkpoints" / "state.json"
    first = checkpoint.stat().st_mtime_ns

    # A field the stored config.json does not know yet takes its default: still the same run.
    stored = json.loads((run_dir / "config.json").read_text())
    del stored["instance_noise"]
    (run_dir / "config.json").write_text(json.dumps(stored))
    assert course.course_run("tiny", config, root=run_dir, verbose=0) == run_dir
    assert "reusing" in capsys.readouterr().out
    assert checkpoint.stat().st_mtime_ns == first

    # An interrupted run (fewer finished epochs than asked) is resumed, not restarted.
    state = json.loads(checkpoint.read_text())
    two_epochs = replace(config, epochs=2)
    two_epochs.save(run_dir / "config.json")
    course.course_run("tiny", two_epochs, root=run_dir, verbose=0)
    resumed = json.loads(checkpoint.read_text())
    assert resumed["epoch"] == 2
    assert resumed["history"]["d_loss"][0] == state["history"]["d_loss"][0]

    # A different configuration replaces the run.
    course.course_run("tiny", replace(config, seed=1), root=run_dir, verbose=0)
    assert json.loads(checkpoint.read_text())["epoch"] == 1
    assert json.loads((run_dir / "config.json").read_text())["seed"] == 1
