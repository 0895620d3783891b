"""The docs stay where people look and every pointer into them resolves.

README.md is short and starts with the two commands a newcomer needs (the test command is the one `.ci/run` runs);
every relative link in README.md, docs/*.md and conf/README.md reaches an existing file (and heading, where it
names one); every markdown file the code names exists; conf/README.md describes every key of conf/config.yaml.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MAIN_COMMAND = "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && snakemake --cores 8"
MAX_README_LINES = 200

DOCS = [ROOT / "README.md", ROOT / "conf" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE_DIRS = ("src", "workflow", "conf")
CODE_SUFFIXES = {".py", ".smk", ".yaml", ".yml", ".txt", ".rst", ".c", ".toml"}

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")
# A markdown file named in code (docs/design.md, DESIGN.md); not an attribute or a template field (io.md=, {output.md}).
MD_PATH = re.compile(r"(?<![\w.{}/-])((?:[\w.-]+/)*[\w-]+\.md)(?![\w=}])")


def _prose(text: str) -> str:
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]|!?\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", path.read_text()).splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            slug = _slug(m.group(1))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _ci_test_command() -> str:
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")][-1]


def test_readme_is_short():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= MAX_README_LINES, f"README.md: {n} lines (at most {MAX_README_LINES}); move long texts to docs/"


def test_readme_starts_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    body = [ln for ln in lines if ln.strip() and not ln.startswith("# ")]
    assert body and body[0].startswith("```"), "README.md: the first thing after the title must be the commands' code block"
    end = next(i for i, ln in enumerate(body[1:], 1) if ln.startswith("```"))
    commands = [ln.strip() for ln in body[1:end] if not ln.strip().startswith("#")]
    assert commands == [MAIN_COMMAND, _ci_test_command()], f"README.md: first code block runs {commands}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path):
    broken = []
    for target in LINK.findall(_prose(doc.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc
        if not dest.exists():
            broken.append(f"{target} (no file {dest})")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    assert not broken, f"{doc.relative_to(ROOT)}: broken links: {'; '.join(broken)}"


def _code_files():
    yield ROOT / "Snakefile"
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in CODE_SUFFIXES and path.is_file() and not {"__pycache__"} & set(path.parts) \
                    and not any(p.endswith(".egg-info") for p in path.parts):
                yield path


def _named_docs(text: str):
    """Markdown paths named in ``text``, except result files (results/leaderboard/all.md) and the ``io.*`` keys an
    entry point takes (``io.md``: where a stage writes its markdown table)."""
    return [name for name in MD_PATH.findall(text) if not name.startswith(("results/", "logs/", "io."))]


def test_docs_named_in_code_exist():
    missing = []
    for path in _code_files():
        for name in _named_docs(path.read_text(errors="replace")):
            if not any((base / name).exists() for base in (ROOT, path.parent, ROOT / "docs")):
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, "markdown files named in code but absent: " + "; ".join(missing)


def test_conf_readme_describes_every_key_of_config_yaml():
    config = yaml.safe_load((ROOT / "conf" / "config.yaml").read_text())
    text = (ROOT / "conf" / "README.md").read_text()
    missing = [key for key in config if f"`{key}`" not in text]
    for key, value in config.items():
        if isinstance(value, dict):
            missing += [f"{key}.{sub}" for sub in value if not re.search(rf"`{re.escape(str(sub))}[`.:]", text)]
    assert not missing, f"conf/README.md: undocumented keys of conf/config.yaml: {', '.join(missing)}"
