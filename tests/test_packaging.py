"""`python -m build` makes a wheel and an sdist that install and run in a fresh virtual env.

What this checks, and what it does not: the wheel and the sdist are built from a copy of the
files a release needs (pyproject.toml, README.md, gan_kit/), so a module missing from the
package, a broken entry point or bad metadata fails here. Each is installed with `--no-deps`
into a new venv whose own site-packages hold only gan_kit; the heavy dependencies (TensorFlow,
Keras, ...) come from the test's own environment through a .pth line appended *after* the
venv's site-packages, so the checkout (on PYTHONPATH or as an editable install) is never what
gets imported. Whether pip can resolve the dependencies from an index is not checked (that
would download TensorFlow); `pip check` in the new venv does check that the installed versions
satisfy what the wheel declares. The build itself runs without isolation, with the setuptools
pinned in requirements.txt, so it needs no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(args: list, cwd: Path, env: dict | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, (
        f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    try:
        import build  # noqa: F401
    except ImportError:
        pytest.fail(
            "the build package is missing: make install (it is in requirements.txt)", pytrace=False
        )
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "gan_kit", source / "gan_kit", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path_factory.mktemp("dist")
    # The wheel is built from the unpacked sdist (build's default), so the sdist must be whole.
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, "."], cwd=source)
    wheels, sdists = list(out.glob("gan_kit-*.whl")), list(out.glob("gan_kit-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def _fresh_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=False, symlinks=True).create(path)
    python = path / "bin" / "python"
    purelib = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=path
    ).strip()
    # Dependencies from this environment, searched after the venv's own site-packages.
    (Path(purelib) / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _clean_env() -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_dist_installs_and_lists_presets(dists, kind, tmp_path):
    python = _fresh_venv(tmp_path / "venv")
    env = _clean_env()
    # pip from this environment installs into the new venv (--python), so the venv needs none.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            dists[kind],
        ],
        cwd=tmp_path,
        env=env,
    )
    where = _run(
        [python, "-c", "import gan_kit, sys; print(gan_kit.__file__); print(sys.prefix)"],
        cwd=tmp_path,
        env=env,
    ).split()
    assert Path(where[0]).is_relative_to(tmp_path / "venv"), (
        f"imported {where[0]}, not the installed {kind}"
    )
    assert not Path(where[0]).is_relative_to(REPO)

    listing = _run([python, "-m", "gan_kit", "train", "--list-presets"], cwd=tmp_path, env=env)
    for preset in ("demo", "dcgan_mnist", "wgan_gp_mnist", "conditional_mnist"):
        assert preset in listing
    # The console script of [project.scripts] says the same.
    assert (
        _run(
            [tmp_path / "venv" / "bin" / "gan-kit", "train", "--list-presets"],
            cwd=tmp_path,
            env=env,
        )
        == listing
    )
    # Every module a notebook may import made it into the distribution.
    installed = Path(where[0]).parent
    for module in (REPO / "gan_kit").rglob("*.py"):
        assert (installed / module.relative_to(REPO / "gan_kit")).is_file(), (
            f"{module.name} not in the {kind}"
        )
    # The versions found satisfy what the distribution declares.
    _run([sys.executable, "-m", "pip", "--python", python, "check"], cwd=tmp_path, env=env)
