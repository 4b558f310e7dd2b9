"""MkDocs hook for the course website: the notebooks as pages, and nothing fetched from elsewhere.

Three jobs, each one MkDocs event:

* `on_files`: the committed notebooks (notebooks/NN_*.ipynb, with their stored outputs) become
  pages at notebooks/NN_name/, before mkdocs-jupyter wraps them (hence the high priority). Two
  kinds of stored output have no HTML form in nbconvert, so each page is made from a copy under
  build/ (never committed, never re-executed) where they get one from data already stored in
  the notebook: a GIF (`image/gif`, which nbconvert's HTML templates skip, showing
  "<IPython.core.display.Image object>") becomes an <img> of the same bytes, and a progress-bar
  widget becomes a static bar drawn from the widget state saved with the notebook (its stored
  text form is the bar at 0%).
* `on_page_content`: the "Open in Colab" badge of each notebook is an image on
  colab.research.google.com; it becomes a plain text link to the same place. nbconvert's
  Mermaid loader (which imports Mermaid from a CDN when a page has a diagram, and none has) is
  dropped. Any other external <script>, <link> or <img> stops the build, so a new one is
  noticed.
* `on_post_build`: the MathJax 2.7 that the jupyter-server-mathjax package ships (the one
  Jupyter Server serves offline) is copied to assets/mathjax/, where the notebook pages load it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
PREPARED = REPO / "build" / "site-notebooks"
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

_COLAB_BADGE = re.compile(
    r'<img[^>]*src="https://colab\.research\.google\.com/assets/colab-badge\.svg"[^>]*/?>'
)
# nbconvert's loader for Mermaid diagrams, which imports Mermaid from a CDN when a page has one.
_MERMAID_LOADER = re.compile(
    r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => \{'
    r'\s*const diagrams = document\.querySelectorAll\("\.jp-Mermaid.*?</script>',
    re.DOTALL,
)
_EXTERNAL_RESOURCE = re.compile(
    r'<(?:script|img|link|iframe|source|video|audio)\b[^>]*\s(?:src|href)="((?:https?:)?//[^"]*)"'
)


_MATHJAX_LOCAL_CONFIG = """\
MathJax.Hub.Config({
  "HTML-CSS": {
    availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
    // MathJax's placeholder font points at url('about:blank'), which Chromium refuses with a
    // console error on every page; a local() name serves the same purpose without a request.
    styles: {"@font-face": {"font-family": "MathJax_Blank", src: "local('MathJax_Blank')"}}
  },
  MMLorHTML: {prefer: "HTML"},
  // The hidden MathML copy for screen readers asks for MathJax's TeX fonts, which the
  // package does not ship.
  menuSettings: {assistiveMML: false},
  AssistiveMML: {disabled: true}
});
MathJax.Ajax.loadComplete("[MathJax]/config/local/gan_kit.js");
"""


def course_notebooks() -> list[Path]:
    """The course notebooks, in order: notebooks/NN_*.ipynb."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _widget_html(model_id: str, state: dict) -> str | None:
    """A static picture of a saved tqdm bar (an HBox of HTML, FloatProgress, HTML), or None."""
    box = state.get(model_id, {})
    if box.get("model_name") != "HBoxModel":
        return None
    parts = []
    for child in box["state"].get("children", []):
        model = state.get(child.removeprefix("IPY_MODEL_"), {})
        values = model.get("state", {})
        if model.get("model_name") == "HTMLModel":
            parts.append(f"<span>{values.get('value', '')}</span>")
        elif model.get("model_name") == "FloatProgressModel":
            parts.append(
                f'<progress value="{values.get("value", 0)}" max="{values.get("max", 1)}"></progress>'
            )
        else:
            return None
    return f'<div class="gan-kit-progress">{" ".join(parts)}</div>'


def prepare_notebook(source: Path, target: Path) -> Path:
    """Write `source` to `target` with GIF and progress-widget outputs given an HTML form."""
    notebook = json.loads(source.read_text(encoding="utf-8"))
    state = notebook.get("metadata", {}).get("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/gif" in data and "text/html" not in data:
                gif = "".join(data["image/gif"]).replace("\n", "")
                width = output.get("metadata", {}).get("image/gif", {}).get("width")
                size = f' width="{width}"' if width else ""
                data["text/html"] = f'<img src="data:image/gif;base64,{gif}"{size} alt="animation">'
            if _WIDGET_VIEW in data:
                html = _widget_html(data[_WIDGET_VIEW].get("model_id", ""), state)
                if html is not None:
                    data["text/html"] = html
                    del data[_WIDGET_VIEW]
    # With no view left to draw, the saved state would only make nbconvert load a widget
    # manager from a CDN.
    notebook.get("metadata", {}).pop("widgets", None)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")
    return target


@event_priority(100)
def on_files(files: Files, config) -> Files:
    for notebook in course_notebooks():
        prepare_notebook(notebook, PREPARED / "notebooks" / notebook.name)
        files.append(
            File(
                f"notebooks/{notebook.name}",
                src_dir=str(PREPARED),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files


def _subsequence(short: list[str], long: list[str]) -> bool:
    words = iter(long)
    return all(word in words for word in short)


def _repair_toc(html: str, toc) -> None:
    """Point table-of-contents entries at the headings' real ids.

    mkdocs-jupyter slugs the table of contents from the heading text without its inline code
    ("What `tf.function` does" gives #3-what-does-...) while nbconvert keeps it in the heading's
    id (#3-what-tffunction-does-...): the entry is the id with words missing.
    """
    ids = re.findall(r'<h[1-6][^>]*\sid="([^"]+)"', html)
    for item in toc:
        if item.id not in ids:
            matches = [i for i in ids if _subsequence(item.id.split("-"), i.split("-"))]
            if len(matches) == 1:
                item.id = matches[0]
        _repair_toc(html, item.children)


def on_page_content(html: str, page, config, files) -> str:
    if page.file.src_uri.endswith(".ipynb"):
        _repair_toc(html, page.toc)
    html = _COLAB_BADGE.sub('<span class="gan-kit-colab">Open in Colab</span>', html)
    if "jp-Mermaid" in html.replace(".jp-Mermaid", ""):
        raise PluginError(
            f"{page.file.src_uri} has a Mermaid diagram, which needs Mermaid from a CDN"
        )
    # No notebook has a diagram, so the loader would never run; without it the page names no CDN.
    html = _MERMAID_LOADER.sub("", html)
    left = _EXTERNAL_RESOURCE.findall(html)
    if left:
        raise PluginError(
            f"{page.file.src_uri} would fetch {left[0]} from the network; the site must work "
            f"offline (vendor it, or drop it in docs/hooks/gan_kit_site.py)"
        )
    return html


def on_post_build(config) -> None:
    import jupyter_server_mathjax

    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (source / "MathJax.js").is_file():
        raise PluginError(f"MathJax.js not found in {source}; reinstall jupyter-server-mathjax")
    target = Path(config["site_dir"]) / "assets" / "mathjax"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    # The package ships one web font, STIX-Web, not MathJax's default TeX fonts; this local
    # configuration (named in custom_mathjax_url) makes the HTML-CSS output use it.
    (target / "config" / "local").mkdir(parents=True, exist_ok=True)
    (target / "config" / "local" / "gan_kit.js").write_text(_MATHJAX_LOCAL_CONFIG)
