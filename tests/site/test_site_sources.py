"""The website's sources: every notebook and every module has its page, and the notebook copy
the site renders keeps what the reader needs (GIFs and progress bars) in HTML form."""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _hook():
    spec = importlib.util.spec_from_file_location(
        "gan_kit_site", REPO / "docs/hooks/gan_kit_site.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nav_pages(nav) -> list[str]:
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def _config() -> dict:
    # mkdocs.yml has no custom YAML tags, so the safe loader reads it.
    return yaml.safe_load((REPO / "mkdocs.yml").read_text())


def test_every_course_notebook_is_in_the_nav_in_order():
    notebooks = [f"notebooks/{p.name}" for p in _hook().course_notebooks()]
    assert len(notebooks) == 11
    in_nav = [p for p in _nav_pages(_config()["nav"]) if p.endswith(".ipynb")]
    assert in_nav == notebooks


def test_every_module_has_an_api_page():
    modules = {
        ".".join(path.relative_to(REPO / "gan_kit").with_suffix("").parts)
        for path in (REPO / "gan_kit").rglob("*.py")
        if not path.name.startswith("_")
    } | {"models"}
    pages = {p.removeprefix("api/").removesuffix(".md") for p in _nav_pages(_config()["nav"])}
    assert modules - pages == set(), f"modules without an API page: {sorted(modules - pages)}"
    for module in modules:
        text = (REPO / "docs" / "api" / f"{module}.md").read_text()
        assert f"::: gan_kit.{module}\n" in text


def test_the_site_math_is_the_local_copy():
    url = _config()["plugins"][1]["mkdocs-jupyter"]["custom_mathjax_url"]
    assert url.startswith("../../assets/mathjax/MathJax.js?") and "//" not in url
    assert _config()["theme"]["font"] is False


def _gif_bytes() -> bytes:
    import io

    from PIL import Image

    frames = [Image.new("L", (4, 4), color) for color in (0, 255)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def test_prepare_notebook_gives_gifs_and_progress_bars_an_html_form(tmp_path):
    gif = base64.b64encode(_gif_bytes()).decode()
    state = {
        "box": {
            "model_name": "HBoxModel",
            "state": {"children": ["IPY_MODEL_a", "IPY_MODEL_b", "IPY_MODEL_c"]},
        },
        "a": {"model_name": "HTMLModel", "state": {"value": "run: 100%"}},
        "b": {"model_name": "FloatProgressModel", "state": {"value": 20.0, "max": 20.0}},
        "c": {"model_name": "HTMLModel", "state": {"value": "20/20 [00:03]"}},
    }
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "source": "",
                "metadata": {},
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {"image/gif": {"width": 200}},
                        "data": {"image/gif": gif[:10] + "\n" + gif[10:], "text/plain": "<Image>"},
                    },
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            "application/vnd.jupyter.widget-view+json": {"model_id": "box"},
                            "text/plain": "run:   0%",
                        },
                    },
                ],
            }
        ],
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": state}}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    source = tmp_path / "in.ipynb"
    source.write_text(json.dumps(notebook))
    out = json.loads(_hook().prepare_notebook(source, tmp_path / "out" / "in.ipynb").read_text())
    gif_output, widget_output = out["cells"][0]["outputs"]
    assert (
        gif_output["data"]["text/html"]
        == f'<img src="data:image/gif;base64,{gif}" width="200" alt="animation">'
    )
    html = widget_output["data"]["text/html"]
    assert "run: 100%" in html and '<progress value="20.0" max="20.0">' in html and "20/20" in html
    assert "application/vnd.jupyter.widget-view+json" not in widget_output["data"]
    assert "widgets" not in out["metadata"]
    # The committed notebook is untouched.
    assert json.loads(source.read_text()) == notebook
