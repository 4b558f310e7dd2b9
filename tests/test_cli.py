"""Bad input gets one line naming the problem and the fix, exit status 2, and nothing is
overwritten. Most cases run `cli.main` in-process (seconds); one runs the real command."""

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from gan_kit import cli
from gan_kit.runs import train


def run_cli(capsys, *argv):
    """(exit status, the error line) of `python -m gan_kit ARGV`."""
    try:
        status = cli.main(list(argv))
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    err = capsys.readouterr().err.strip()
    return status, err


def assert_one_line_error(status, err, *phrases):
    assert status == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for phrase in phrases:
        assert phrase in err, f"{phrase!r} not in {err!r}"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tfds_data_dir, raw_dir, tiny_config):
    run_dir = tmp_path_factory.mktemp("runs") / "done"
    train(
        replace(tiny_config, epochs=1), run_dir, data_dir=tfds_data_dir, raw_dir=raw_dir, verbose=0
    )
    return run_dir


@pytest.mark.parametrize(
    "argv, phrases",
    [
        (["--preset", "nope"], ["unknown preset 'nope'", "demo"]),
        (["--model", "gru", "--dataset", "mnist"], ["unknown model 'gru'", "dcgan"]),
        (["--model", "dcgan", "--dataset", "imagenet"], ["unknown dataset 'imagenet'", "mnist"]),
        (["--preset", "demo", "--loss", "l7"], ["unknown loss 'l7'", "non_saturating"]),
        (["--model", "dcgan", "--dataset", "mnist", "--image-size", "30"], ["30", "28"]),
        (["--preset", "demo", "--epochs", "0"], ["--epochs", "'0' is not a positive integer"]),
        (["--preset", "demo", "--batch-size", "-4"], ["--batch-size", "not a positive integer"]),
        (["--preset", "demo", "--batch-size", "many"], ["--batch-size", "not a positive integer"]),
        (["--preset", "demo", "--log-every", "0"], ["--log-every", "not a positive integer"]),
        (["--preset", "demo", "--time-budget", "-1"], ["--time-budget", "minutes >= 0"]),
        (["--preset", "demo", "--time-budget", "soon"], ["--time-budget", "number of minutes"]),
        (
            ["--model", "dcgan", "--dataset", "celeb_a", "--conditional"],
            ["no class labels", "--conditional"],
        ),
        (
            ["--model", "tutorial", "--dataset", "mnist", "--conditional"],
            ["28x28x1", "--model dcgan"],
        ),
        (["--preset", "demo"], ["--out"]),
    ],
)
def test_bad_training_arguments(capsys, tmp_path, argv, phrases):
    out = tmp_path / "run"
    extra = [] if argv == ["--preset", "demo"] else ["--out", str(out)]
    status, err = run_cli(capsys, "train", *argv, *extra)
    assert_one_line_error(status, err, *phrases)
    assert not out.exists(), "a refused command must not create the run folder"


def test_existing_run_folder_is_refused_and_left_alone(capsys, finished_run):
    before = {p: p.stat().st_mtime_ns for p in finished_run.rglob("*")}
    status, err = run_cli(capsys, "train", "--preset", "demo", "--out", str(finished_run))
    assert_one_line_error(status, err, "already exists", "--resume", "--overwrite")
    assert {p: p.stat().st_mtime_ns for p in finished_run.rglob("*")} == before


def test_overwrite_refuses_a_folder_that_is_not_a_run(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    status, err = run_cli(
        capsys, "train", "--preset", "demo", "--out", str(tmp_path), "--overwrite"
    )
    assert_one_line_error(status, err, "not a run folder")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_unwritable_output_path(capsys, tmp_path):
    (tmp_path / "a_file").write_text("")
    status, err = run_cli(
        capsys, "train", "--preset", "demo", "--out", str(tmp_path / "a_file" / "run")
    )
    assert_one_line_error(status, err, "cannot write", "--out")


def test_resume_without_a_checkpoint(capsys, tmp_path, tiny_config):
    run_dir = tmp_path / "fresh"
    run_dir.mkdir()
    tiny_config.save(run_dir / "config.json")
    status, err = run_cli(capsys, "train", "--resume", str(run_dir))
    assert_one_line_error(status, err, "no checkpoint", "--overwrite")
    status, err = run_cli(capsys, "train", "--resume", str(tmp_path / "nowhere"))
    assert_one_line_error(status, err, "not a run folder")


def test_resume_with_a_corrupt_checkpoint(capsys, tmp_path, finished_run):
    import shutil

    run_dir = tmp_path / "broken"
    shutil.copytree(finished_run, run_dir)
    state = json.loads((run_dir / "checkpoints" / "state.json").read_text())
    (run_dir / "checkpoints" / state["checkpoint"]).write_bytes(b"not a zip file at all")
    status, err = run_cli(capsys, "train", "--resume", str(run_dir))
    assert_one_line_error(status, err, "cannot be read", state["checkpoint"])
    status, err = run_cli(capsys, "sample", str(run_dir), "--out", str(tmp_path / "s.npz"))
    assert_one_line_error(status, err, "cannot be read")


def test_label_errors(capsys, tmp_path, finished_run):
    out = str(tmp_path / "s.npz")
    status, err = run_cli(capsys, "sample", str(finished_run), "--label", "3", "--out", out)
    assert_one_line_error(status, err, "--label", "unconditional")
    status, err = run_cli(capsys, "sample", str(finished_run), "--out", str(tmp_path / "s.png"))
    assert_one_line_error(status, err, ".npz")


def test_label_outside_the_classes(
    capsys, tmp_path, tfds_data_dir, raw_dir, tiny_config, tiny_conditional_config
):
    run_dir = train(
        tiny_conditional_config,
        tmp_path / "cgan",
        data_dir=tfds_data_dir,
        raw_dir=raw_dir,
        verbose=0,
    ).run_dir
    status, err = run_cli(
        capsys, "sample", str(run_dir), "--label", "10", "--out", str(tmp_path / "s.npz")
    )
    assert_one_line_error(status, err, "--label 10", "0..9")


def test_data_missing_offline(capsys, tmp_path):
    empty = tmp_path / "raw"
    empty.mkdir()
    out = tmp_path / "run"
    status, err = run_cli(
        capsys,
        "train",
        "--preset",
        "demo",
        "--out",
        str(out),
        "--raw-dir",
        str(empty),
        "--data-dir",
        str(tmp_path / "tfds"),
    )
    assert_one_line_error(status, err, "GAN_KIT_RAW_DATA", "make data")
    assert not out.exists()


def test_real_command_prints_one_line_and_no_tensorflow_noise(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gan_kit",
            "train",
            "--preset",
            "nope",
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        result.stderr.strip().splitlines()[0]
    ] and result.stderr.startswith("error: unknown preset 'nope'")


def test_list_presets_names_every_preset_with_its_source(capsys):
    from gan_kit.presets import PRESETS

    assert cli.main(["train", "--list-presets"]) == 0
    out = capsys.readouterr().out
    for name in PRESETS:
        assert name in out
    assert out.count("source:") == len(PRESETS)


def test_eval_rejects_bad_samples_files(capsys, tmp_path):
    import numpy as np

    floats = tmp_path / "floats.npz"
    np.savez(floats, images=np.zeros((4, 28, 28, 1), dtype="float32"))
    status, err = run_cli(capsys, "eval", "--samples", str(floats), "--dataset", "mnist")
    assert_one_line_error(status, err, "float32", "uint8")
    status, err = run_cli(capsys, "eval", "--samples", str(floats))
    assert_one_line_error(status, err, "--dataset")
    (tmp_path / "junk.npz").write_text("not numpy")
    status, err = run_cli(
        capsys, "eval", "--samples", str(tmp_path / "junk.npz"), "--dataset", "mnist"
    )
    assert_one_line_error(status, err, "cannot read", "images")
    status, err = run_cli(capsys, "eval")
    assert_one_line_error(status, err, "RUN_DIR", "--samples")


def test_conditional_demo_swaps_the_island_prior_for_the_labels():
    from gan_kit import cli

    plain = cli.config_from_args(cli.build_parser().parse_args(["train", "--preset", "demo"]))
    assert plain.latent_distribution == "mixture" and not plain.conditional
    args = cli.build_parser().parse_args(["train", "--preset", "demo", "--conditional"])
    conditional = cli.config_from_args(args)
    assert conditional.conditional and conditional.latent_distribution == "normal"


def test_jit_compile_flag_overrides_the_preset_either_way():
    from gan_kit import cli

    def config(*flags):
        return cli.config_from_args(cli.build_parser().parse_args(["train", *flags]))

    assert config("--preset", "demo").jit_compile is True
    assert config("--preset", "demo", "--no-jit-compile").jit_compile is False
    assert config("--preset", "vanilla_mnist").jit_compile is False
    assert config("--preset", "vanilla_mnist", "--jit-compile").jit_compile is True


def test_deterministic_flag_sets_the_config_field():
    parse = cli.build_parser().parse_args
    assert not cli.config_from_args(parse(["train", "--preset", "demo"])).deterministic
    config = cli.config_from_args(parse(["train", "--preset", "demo", "--deterministic"]))
    assert config.deterministic is True and config.validate() is config


def test_time_budget_flag_sets_or_removes_the_budget():
    parse = cli.build_parser().parse_args
    assert cli.config_from_args(parse(["train", "--preset", "demo"])).time_budget == 4.5
    config = cli.config_from_args(parse(["train", "--preset", "demo", "--time-budget", "2.5"]))
    assert config.time_budget == 2.5
    config = cli.config_from_args(parse(["train", "--preset", "demo", "--time-budget", "0"]))
    assert config.time_budget is None and config.validate() is config
