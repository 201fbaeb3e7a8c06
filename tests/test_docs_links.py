"""Every relative link in the docs and READMEs points at a file (and heading) that exists."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    {
        *ROOT.glob("docs/**/*.md"),
        ROOT / "README.md",
        *ROOT.glob("townlet-*/README.md"),
    }
)

_FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(].*?)?\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_HTML_ID = re.compile(r"<a\s[^>]*\b(?:name|id)=[\"']([^\"']+)[\"']", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and code spans (their brackets are not links)."""
    return _CODE_SPAN.sub("``", _FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: inline markup dropped, lower case, punctuation
    removed except ``-`` and ``_``, spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link reads as its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives ``page``'s headings (repeats get ``-1``, ``-2``, ...)."""
    text = page.read_text(encoding="utf-8")
    seen: Counter[str] = Counter()
    out = set(_HTML_ID.findall(text))
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        base = slug(heading)
        out.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return out


def links(page: Path) -> list[str]:
    """The link targets of ``page`` that are neither absolute URLs nor empty."""
    text = _prose(page.read_text(encoding="utf-8"))
    found = _INLINE_LINK.findall(text) + _REFERENCE.findall(text)
    return [t for t in found if t and not _SCHEME.match(t) and not t.startswith("//")]


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def broken(page: Path, target: str) -> str | None:
    """Why ``target`` (a relative link on ``page``) does not resolve, or None."""
    path_part, _, fragment = target.partition("#")
    dest = (page.parent / unquote(path_part)).resolve() if path_part else page
    if not dest.exists():
        return f"{_shown(dest)} does not exist"
    if fragment and dest.suffix == ".md" and unquote(fragment) not in anchors(dest):
        return f"no heading #{fragment} in {_shown(dest)}"
    return None


def test_the_pages_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"README.md", "docs/plugins.md", "townlet-core/README.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    problems = [
        f"{target}: {why}" for target in links(page) if (why := broken(page, target)) is not None
    ]
    assert not problems, f"{_shown(page)}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        (
            "Example: a custom reward stage, added from YAML",
            "example-a-custom-reward-stage-added-from-yaml",
        ),
        ("`townlet run` and the [config](config.md)", "townlet-run-and-the-config"),
        ("Buffering and health", "buffering-and-health"),
        ("snake_case & Ünïcode", "snake_case--ünïcode"),
    ],
)
def test_slug_follows_github(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_a_missing_file_or_heading_is_reported(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n## Same\n\n## Same\n\n```\n# not a heading\n[x](inside_code.md)\n```\n"
        "[ok](#same-1) [bad](#not-a-heading) [gone](gone.md) `[x](code.md)` "
        "[web](https://example.org/x.md)\n",
        encoding="utf-8",
    )
    assert links(page) == ["#same-1", "#not-a-heading", "gone.md"]
    assert broken(page, "#same-1") is None
    assert broken(page, "#not-a-heading") is not None
    assert broken(page, "gone.md") is not None
