"""The built course website, opened in real headless Chromium as a reader would open it.

`make test-site` builds build/site/ and runs this file: a server on 127.0.0.1 serves the site,
Debian's /usr/bin/chromium (driven by Playwright, whose own browser download is not used) visits
every page reachable from the home page, and every request that would leave localhost is
blocked and counted. Screenshots and a one-line-per-page report go to build/site-test/
(or $GAN_KIT_SITE_TEST_OUT).
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("GAN_KIT_SITE_DIR", REPO / "build" / "site"))
OUT = Path(os.environ.get("GAN_KIT_SITE_TEST_OUT", REPO / "build" / "site-test"))
CHROMIUM = os.environ.get("GAN_KIT_CHROMIUM", "/usr/bin/chromium")
# Flags for a sandbox-less CI container with no network: no GPU, no QUIC, and none of the
# browser's own background traffic (updates, sync, first-run pages).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}

# Wait until the page's math is typeset: MathJax 2 queues the callback after its typesetting.
_MATHJAX_DONE = """() => new Promise(resolve => {
    if (!window.MathJax || !window.MathJax.Hub) { resolve(false); return; }
    window.MathJax.Hub.Queue(() => resolve(true));
})"""

_PAGE_FACTS = """() => {
    const images = Array.from(document.images).map(img => ({
        src: img.currentSrc.slice(0, 80), complete: img.complete,
        width: img.naturalWidth, height: img.naturalHeight}));
    const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
    const ids = Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.name);
    // Text a reader sees, code excluded: a "$$" there is TeX that MathJax never typeset.
    const clone = document.body.cloneNode(true);
    clone.querySelectorAll('pre, code, script, style').forEach(e => e.remove());
    return {
        images, links, ids,
        text: clone.textContent,
        math: document.querySelectorAll('.MathJax, .MathJax_Display, .MathJax_SVG').length,
        math_errors: document.querySelectorAll('.MathJax_Error, merror').length,
        title: document.title,
    };
}"""


def _fail(message: str) -> None:
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="module")
def site_url():
    """The built site served on 127.0.0.1 on a free port, for this module."""
    if not (SITE / "index.html").is_file():
        _fail(f"no built site in {SITE}: run `make site` first (or `make test-site`)")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    """A fresh headless Chromium profile that blocks and records every non-local request."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        _fail(f"{CHROMIUM} not found: apt-get install -y chromium chromium-driver")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _fail(
            "playwright is not installed: make install-site (pip install -r requirements-site.txt)"
        )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        context.left_localhost = []

        def guard(route):
            host = urlsplit(route.request.url).hostname or ""
            if route.request.url.startswith(("data:", "blob:", "about:")) or host in LOCAL_HOSTS:
                route.continue_()
            else:
                context.left_localhost.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        yield context
        context.close()


@pytest.fixture(scope="module")
def crawl(site_url, browser_context):
    """Visit every page reachable from the home page; return what each one showed."""
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    pages: dict[str, dict] = {}
    queue = [site_url]
    page = browser_context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: console.append(f"uncaught: {error}"))
    # The console names no URL for a failed load; the response does.
    page.on(
        "response",
        lambda r: console.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    while queue:
        url = queue.pop(0)
        if url in pages:
            continue
        console.clear()
        response = page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        mathjax = page.evaluate(_MATHJAX_DONE)
        facts = page.evaluate(_PAGE_FACTS)
        facts.update(status=response.status, console=list(console), mathjax=mathjax)
        pages[url] = facts
        for link in facts["links"]:
            target = urldefrag(link).url
            if target.startswith(site_url) and target not in pages and _is_page(target):
                queue.append(target)
        if url == site_url:
            page.screenshot(path=str(OUT / "home.png"), full_page=False)
        if url.endswith("/notebooks/04_dcgan/"):
            page.screenshot(path=str(OUT / "notebook_04_dcgan.png"), full_page=False)
    page.close()
    report = {
        url.removeprefix(site_url) or "/": {
            "status": f["status"],
            "images": len(f["images"]),
            "math": f["math"],
            "console_errors": f["console"],
        }
        for url, f in pages.items()
    }
    (OUT / "report.json").write_text(json.dumps(report, indent=1))
    return pages


def _is_page(url: str) -> bool:
    path = urlsplit(url).path
    return path.endswith("/") or path.endswith(".html")


def test_every_page_loads_without_console_errors(crawl, site_url):
    expected = {
        f"{site_url}notebooks/{nb.stem}/" for nb in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")
    }
    expected |= {site_url, f"{site_url}usage/", f"{site_url}troubleshooting/", f"{site_url}api/"}
    assert expected <= set(crawl), (
        f"pages not reached from the home page: {sorted(expected - set(crawl))}"
    )
    assert len(crawl) >= 40, f"only {len(crawl)} pages reached"
    bad = {url: f["status"] for url, f in crawl.items() if f["status"] != 200}
    assert not bad, f"pages that did not load: {bad}"
    errors = {url: f["console"] for url, f in crawl.items() if f["console"]}
    assert not errors, f"console errors: {errors}"


def test_every_image_has_pixels(crawl, site_url):
    broken = [
        (url, img["src"])
        for url, f in crawl.items()
        for img in f["images"]
        if not (img["complete"] and img["width"] > 0 and img["height"] > 0)
    ]
    assert not broken, f"images that did not load: {broken[:10]}"
    # The notebooks' figures and animations are there, GIFs included.
    notebook_images = [
        img["src"] for url, f in crawl.items() if "/notebooks/" in url for img in f["images"]
    ]
    stored = {"image/png": 0, "image/gif": 0}
    for notebook in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        for cell in json.loads(notebook.read_text())["cells"]:
            for output in cell.get("outputs", []):
                for kind in stored:
                    stored[kind] += kind in output.get("data", {})
    gifs = [src for src in notebook_images if src.startswith("data:image/gif")]
    assert stored["image/gif"] > 0 and len(gifs) == stored["image/gif"], (
        f"{len(gifs)} GIFs shown, {stored['image/gif']} stored in the notebooks"
    )
    assert len(notebook_images) >= sum(stored.values()), (
        f"{len(notebook_images)} images on notebook pages, {stored} stored in the notebooks"
    )


def test_math_is_typeset(crawl, site_url):
    raw = [url for url, f in crawl.items() if "$$" in f["text"] or "\\begin{" in f["text"]]
    assert not raw, f"untypeset TeX left on: {raw}"
    errors = {url: f["math_errors"] for url, f in crawl.items() if f["math_errors"]}
    assert not errors, f"MathJax errors on: {errors}"
    for name in ("01_minimax", "06_wgan"):
        facts = crawl[f"{site_url}notebooks/{name}/"]
        assert facts["mathjax"], f"MathJax did not load on notebook {name}"
        assert facts["math"] >= 10, f"notebook {name}: only {facts['math']} formulas typeset"


def test_every_internal_link_resolves(crawl, site_url, browser_context):
    ids = {url: set(f["ids"]) for url, f in crawl.items()}
    missing = []
    checked: dict[str, int] = {}
    for url, facts in crawl.items():
        for link in facts["links"]:
            if not link.startswith(site_url):
                continue
            target, fragment = urldefrag(link)
            if target in ids:
                if fragment and fragment not in ids[target]:
                    missing.append(f"{url} -> {link} (no such anchor)")
                continue
            if target not in checked:
                checked[target] = browser_context.request.get(target).status
            if checked[target] != 200:
                missing.append(f"{url} -> {link} ({checked[target]})")
    assert not missing, f"{len(missing)} broken internal links, e.g. {missing[:10]}"


def test_no_request_leaves_localhost(crawl, browser_context):
    assert not browser_context.left_localhost, (
        f"requests to the network: {sorted(set(browser_context.left_localhost))[:10]}"
    )


def test_built_pages_name_no_external_script_style_or_font():
    # The theme's own JavaScript bundle keeps polyfill and Mermaid URLs it uses only when a
    # browser lacks ResizeObserver or a page has a diagram; the pages themselves name none.
    pattern = re.compile(
        r"<(?:script|link|img|iframe|source)\b[^>]*\s(?:src|href)=[\"'](?:https?:)?//"
        r"|import\(\s*[\"'](?:https?:)?//|url\(\s*[\"']?(?:https?:)?//|@import"
    )
    pages = list(SITE.rglob("*.html"))
    assert len(pages) >= 40
    offenders = {str(p.relative_to(SITE)): pattern.findall(p.read_text()) for p in pages}
    offenders = {page: found for page, found in offenders.items() if found}
    assert not offenders, f"pages naming external resources: {offenders}"
    stylesheets = [p for p in SITE.rglob("*.css") if pattern.search(p.read_text())]
    assert not stylesheets, f"stylesheets naming external resources: {stylesheets}"


def test_screenshots_saved(crawl):
    from PIL import Image

    for name in ("home.png", "notebook_04_dcgan.png"):
        path = OUT / name
        assert path.is_file(), f"no screenshot {path}"
        with Image.open(path) as image:
            assert image.size == (1280, 900)
            # A blank page would be one colour.
            assert len(image.convert("L").getcolors(maxcolors=256 * 256) or []) > 20
