"""Which automatic glossary links a page gets, and the reviewed list of all of them.

The glossary links the first mention of a known term (a page's title or alias) on every other
page. A link promises that the target explains *this* word *in this sense*, so
``fixtures/glossary.yaml`` narrows where an ambiguous term links:

* ``rules``: ``term: explicit`` never links automatically (writers link it by hand where meant);
  ``term: {only: [page URLs]}`` links only on those pages;
* ``off``: ``page URL: [terms]`` switches single links off on a page.

``fixtures/glossary_links.yaml`` lists every glossary link the content produces, page by page; a
test compares the rendered pages against it, so a new or changed link is seen in review before
it ships (``manage.py glossary_links --write`` updates it).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from django.conf import settings

RULES_FILE = Path(settings.BASE_DIR) / "fixtures" / "glossary.yaml"
LINKS_FILE = Path(settings.BASE_DIR) / "fixtures" / "glossary_links.yaml"
_LINK = re.compile(r'<a class="glossary-link" href="([^"]*)">([^<]*)</a>')


@dataclass(frozen=True)
class Rules:
    explicit: frozenset[str] = frozenset()
    only: dict[str, frozenset[str]] = field(default_factory=dict)
    off: dict[str, frozenset[str]] = field(default_factory=dict)

    def allows(self, term: str, page_url: str) -> bool:
        """Whether ``term`` may link automatically on the page at ``page_url``."""
        term = term.lower()
        if term in self.explicit or term in self.off.get(page_url, ()):
            return False
        pages = self.only.get(term)
        return pages is None or page_url in pages


def parse(data: dict) -> Rules:
    """Rules from the YAML's data; a malformed entry is an error naming it."""
    explicit, only = set(), {}
    for term, rule in (data.get("rules") or {}).items():
        if rule == "explicit":
            explicit.add(str(term).lower())
        elif isinstance(rule, dict) and isinstance(rule.get("only"), list):
            only[str(term).lower()] = frozenset(rule["only"])
        else:
            raise ValueError(f"glossary rule for {term!r}: use explicit or {{only: [urls]}}")
    off = {
        url: frozenset(t.lower() for t in terms) for url, terms in (data.get("off") or {}).items()
    }
    return Rules(frozenset(explicit), only, off)


@lru_cache(maxsize=1)
def _rules_at(path: Path, mtime: float) -> Rules:
    return parse(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def rules(path: Path = RULES_FILE) -> Rules:
    """The reviewed rules, read again whenever the file changes."""
    if not path.exists():
        return Rules()
    return _rules_at(path, path.stat().st_mtime)


def links_in(rendered_html: str) -> dict[str, str]:
    """The glossary links in a rendered page: linked text → target."""
    return {html.unescape(text): html.unescape(href) for href, text in _LINK.findall(rendered_html)}


def all_links() -> dict[str, dict[str, str]]:
    """Every glossary link the stored pages hold, by page URL (pages without any left out)."""
    from apps.core.content import KINDS
    from apps.core.models import MarkdownPage

    found: dict[str, dict[str, str]] = {}
    for kind in KINDS:
        if not issubclass(kind.model, MarkdownPage):
            continue
        for page in kind.model.objects.only("slug", "body_html"):
            if links := links_in(page.body_html):
                found[page.get_absolute_url()] = dict(sorted(links.items()))
    return dict(sorted(found.items()))


def reviewed_links(path: Path = LINKS_FILE) -> dict[str, dict[str, str]]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {} if path.exists() else {}


def write_reviewed_links(path: Path = LINKS_FILE) -> int:
    links = all_links()
    header = (
        "# Every automatic glossary link the content produces: page → {linked text: target}.\n"
        "# Reviewed by hand for sense; regenerate with `manage.py glossary_links --write` and\n"
        "# read the diff before committing. Rules live in glossary.yaml.\n"
    )
    body = yaml.safe_dump(links, sort_keys=True, allow_unicode=True, width=100)
    path.write_text(header + body, encoding="utf-8")
    return sum(len(v) for v in links.values())
