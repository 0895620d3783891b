"""Writing the site's files: HTML shells, data as JavaScript files, the static assets.

Pages open from the file system (``file://``), where Chromium and Firefox refuse ``fetch()`` of local JSON, so the
data travel as scripts: each data file is one call ``rmeval.put("<key>", <JSON>);`` that a page loads with a
``<script>`` tag (chunks: a tag added when an item is opened). Every page is an empty shell that ``site.js`` fills
with DOM nodes; data reach the page through ``textContent`` and attributes only, never as HTML.
"""

from __future__ import annotations

import html
import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

#: the static files every site carries (``rmeval/site/assets``)
ASSETS = ("site.css", "site.js")


def js_data(key: str, value: Any) -> str:
    """One data file's text: ``rmeval.put(key, value);`` with the value as compact JSON (U+2028/U+2029 escaped,
    so the file is valid in any JavaScript engine)."""
    blob = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    blob = blob.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"rmeval.put({json.dumps(key)},{blob});\n"


def write_js(path: Path, key: str, value: Any) -> int:
    """Write a data file; returns its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = js_data(key, value)
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def page_html(title: str, page: str, root: str, scripts: list[str], benchmark: str | None = None) -> str:
    """An HTML shell: the stylesheet, ``site.js``, the navigation data and the page's data scripts (all relative,
    all local). ``root``: the relative path to the site's top folder ("" or "../../")."""
    esc = html.escape
    attrs = f' data-page="{esc(page)}" data-root="{esc(root)}"'
    if benchmark is not None:
        attrs += f' data-benchmark="{esc(benchmark)}"'
    tags = "\n".join(f'<script src="{esc(src)}"></script>' for src in [f"{root}assets/site.js", f"{root}assets/nav.js", *scripts])
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<link rel="stylesheet" href="{esc(root)}assets/site.css">
</head>
<body{attrs}>
<header id="nav"></header>
<main id="main"><p class="loading">Loading…</p>
<noscript><p>These pages are drawn by JavaScript (a local file, no network): enable it to see them.</p></noscript>
</main>
{tags}
</body>
</html>
"""


def copy_assets(folder: Path) -> None:
    """Copy the site's CSS and JavaScript into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    source = resources.files("rmeval.site").joinpath("assets")
    for name in ASSETS:
        (folder / name).write_bytes(source.joinpath(name).read_bytes())


def copy_figures(entries: list[dict], folder: Path) -> None:
    """Copy each figure's PNG (``entry["source"]``) into ``folder``; the entries keep only the file name."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        shutil.copyfile(entry.pop("source"), folder / entry["file"])


def folder_size(folder: Path) -> tuple[int, int]:
    """(files, bytes) under ``folder``."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)
