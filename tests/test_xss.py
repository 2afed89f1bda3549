"""Nothing executable survives, wherever user or editor text is shown.

Every payload of ``xss_payloads.txt`` goes through the Markdown pipeline, the concept and metric
admins (and the pages that show what they saved), the admin's live preview, the design-doc wizard
(new doc, autosave, plain-POST save, conflicts, history, export), search, the calculators, the
metric chooser and the account forms. The served HTML is parsed and must hold no script-capable
element, event handler, ``style`` attribute, htmx attribute or ``javascript:``/``vbscript:``/
``data:`` URL beyond those the same page has when it shows a harmless text instead.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.cache import cache

from apps.concepts.models import Concept, Level
from apps.core.markdown import frozen_glossary, render, render_inline, render_user_text, sanitise
from apps.designdocs.models import DesignDoc, Prompt, Step
from apps.metrics.models import Family, Metric

pytestmark = pytest.mark.django_db

# --- Payloads ----------------------------------------------------------------------------------

# The payload file spells control characters with their Unicode control pictures.
CONTROL_PICTURES = {"␊": "\n", "␉": "\t", "␍": "\r", "␀": "\x00", "␌": "\x0c"}


def load_payloads() -> list[str]:
    text = (Path(__file__).parent / "xss_payloads.txt").read_text(encoding="utf-8")
    payloads = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        for picture, character in CONTROL_PICTURES.items():
            line = line.replace(picture, character)
        payloads.append(line)
    return payloads


PAYLOADS = load_payloads()
HARMLESS = "A plain sentence about caching."


def chunks(size: int) -> list[list[str]]:
    return [PAYLOADS[i : i + size] for i in range(0, len(PAYLOADS), size)]


def chunk_ids(size: int) -> list[str]:
    return [
        f"payloads-{i + 1}-{min(i + size, len(PAYLOADS))}" for i in range(0, len(PAYLOADS), size)
    ]


def form_text(payload: str, limit: int | None = None) -> str:
    """The payload as a Django form field takes it: forms refuse NUL characters by design."""
    return payload.replace("\x00", "")[:limit]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits live in the cache, which outlives each test's database transaction."""
    cache.clear()


# --- What counts as executable -----------------------------------------------------------------

DANGEROUS_ELEMENTS = {
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "style", "link",
    "meta", "base", "input", "button", "textarea", "select", "isindex", "keygen", "portal",
    "animate", "set", "animatemotion", "animatetransform", "use", "foreignobject", "handler",
    "listener",
}  # fmt: skip
URL_ATTRIBUTES = {
    "href", "src", "xlink:href", "action", "formaction", "data", "poster", "background",
    "codebase", "cite", "dynsrc", "lowsrc", "srcset", "values", "to", "from", "by",
}  # fmt: skip
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
# Where pages show stored or typed text; a finding in here can only have come from that text.
CONTENT_CLASSES = {
    "prose", "doc-answer", "formula", "lead", "conflict-texts", "diff-lines", "field-error",
    "form-error", "calculator-results", "errorlist", "messages", "preview-warning",
}  # fmt: skip
CONTENT_IDS = {"markdown-preview"}
VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr", "param", "keygen", "isindex",
}  # fmt: skip
C0_AND_SPACE = "".join(chr(code) for code in range(0x21))


def dangerous_url(value: str) -> bool:
    """True for a URL a browser would run or render as a document.

    ``value`` is already entity-decoded by the parser. Then, as the URL standard does, leading
    and trailing C0 controls and spaces go, and so do tabs and newlines anywhere.
    """
    url = re.sub(r"[\t\n\r]", "", value.strip(C0_AND_SPACE)).lower()
    return url.startswith(DANGEROUS_SCHEMES)


class Findings(HTMLParser):
    """Collects everything executable in a document, as a multiset of short descriptions."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: Counter[str] = Counter()
        self.stack: list[tuple[str, bool]] = []

    def _in_content(self) -> bool:
        return any(is_content for _, is_content in self.stack)

    def handle_starttag(self, tag, attrs):
        self._element(tag, attrs)
        if tag not in VOID_ELEMENTS:
            classes = set((dict(attrs).get("class") or "").split())
            is_content = bool(classes & CONTENT_CLASSES) or dict(attrs).get("id") in CONTENT_IDS
            self.stack.append((tag, is_content))

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        where = " inside page content" if self._in_content() else ""
        if tag in DANGEROUS_ELEMENTS:
            self.found[f"<{tag}> element{where}"] += 1
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found[f"{name} handler on <{tag}>{where}"] += 1
            elif name in {"style", "srcdoc"}:
                self.found[f"{name} attribute on <{tag}>{where}"] += 1
            elif name.startswith(("hx-", "data-hx-")):
                self.found[f"htmx {name} on <{tag}>{where}"] += 1
            elif name in URL_ATTRIBUTES and dangerous_url(value):
                self.found[f"{name}={value[:40]!r} on <{tag}>{where}"] += 1


def findings(html: str) -> Counter[str]:
    parser = Findings()
    parser.feed(html)
    parser.close()
    return parser.found


@lru_cache(maxsize=64)
def baseline_findings(html: str) -> Counter[str]:
    return findings(html)


def assert_inert(html: str, baseline: str = "", *, payload: str, where: str) -> None:
    """``html`` holds nothing executable beyond what ``baseline`` (harmless text) holds."""
    extra = findings(html) - baseline_findings(baseline)
    assert not extra, f"{where}: payload {payload!r} left {dict(extra)}"


def page(response, where: str, status: int = 200) -> str:
    assert response.status_code == status, f"{where}: status {response.status_code}"
    assert response["Content-Type"].startswith("text/html"), where
    return response.content.decode()


# --- a. The Markdown pipeline ------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"p{i:03d}" for i in range(len(PAYLOADS))])
def test_markdown_pipeline_leaves_nothing_executable(payload):
    rendered = render(payload)
    assert_inert(rendered.html, payload=payload, where="render().html")
    assert_inert(rendered.toc_html, payload=payload, where="render().toc_html")
    assert_inert(render_inline(payload), payload=payload, where="render_inline()")
    # What an author typed stays visible instead of being executed or silently deleted.
    assert rendered.html.strip() or not payload.strip(), f"{payload!r} rendered to nothing"
    answer = render_user_text(payload).html
    assert_inert(answer, payload=payload, where="render_user_text().html")
    assert "<img" not in answer, "answers show no images"


@pytest.mark.parametrize(
    "markdown",
    [
        "![x](//evil.example/pixel.png)",
        "![x](/\\evil.example/pixel.png)",
        "![x](/\\/evil.example/p.png)",
    ],
)
def test_markdown_images_only_load_from_this_site(markdown):
    # The sanitiser promises that images load from this origin only: "//host" and "/\host" are
    # another origin to a browser (a tracking pixel in a design doc, or mixed content).
    for tag, attrs in _images(render(markdown).html):
        src = attrs.get("src") or ""
        assert not src or (src.startswith("/") and src[1:2] not in {"/", "\\"}), (
            f"{markdown!r} kept <{tag} src={src!r}>"
        )


# The URL a browser reads: references decoded, C0 controls and spaces stripped at the ends, tabs
# and line breaks stripped anywhere, "\\" read as "/". Each of these is another origin then.
OTHER_ORIGIN_IMAGES = [
    '<img src="/&#9;/evil.example/x.png">',
    '<img src="/&#10;/evil.example/x.png">',
    '<img src="/&#13;/evil.example/x.png">',
    '<img src="/\t/evil.example/x.png">',
    '<img src="/\n/evil.example/x.png">',
    '<img src=" //evil.example/x.png">',
    '<img src="&#1;//evil.example/x.png">',
    '<img src="/&#92;evil.example/x.png">',
    '<img src="\\\\evil.example/x.png">',
    '<img src="/&amp;#9;/evil.example/x.png">',
    '<img src="https://evil.example/x.png">',
    '<img src="da&#9;ta:image/svg+xml,&lt;svg onload=alert(1)&gt;">',
]


@pytest.mark.parametrize("html", OTHER_ORIGIN_IMAGES)
def test_sanitiser_refuses_image_urls_that_a_browser_reads_as_another_origin(html):
    assert _images(sanitise(html)) == [("img", {})]


@pytest.mark.parametrize(
    "markdown",
    [
        "![x](/&#9;/evil.example/x.png)",
        "![x](/&#10;/evil.example/x.png)",
        "![x](/&#92;evil.example/x.png)",
        "![x](<\t//evil.example/x.png>)",
    ],
)
def test_markdown_images_with_hidden_characters_do_not_load_from_another_origin(markdown):
    assert _images(render(markdown).html) == [("img", {"alt": "x"})]


@pytest.mark.parametrize(
    "html",
    [
        '<a href="java&#9;script:alert(1)">x</a>',
        '<a href="java&#10;script:alert(1)">x</a>',
        '<a href="JaVa&#x0D;ScRiPt:alert(1)">x</a>',
        '<a href="&#1;javascript:alert(1)">x</a>',
        '<a href=" &#14; javascript:alert(1)">x</a>',
        '<a href="vb&#9;script:msgbox(1)">x</a>',
        '<a href="da&#10;ta:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">x</a>',
        '<a href="java&amp;#9;script:alert(1)">x</a>',
    ],
)
def test_sanitiser_drops_runnable_links_however_they_are_spelled(html):
    assert sanitise(html) == "<a>x</a>"


def test_urls_that_stay_on_this_site_or_go_to_the_web_are_kept_as_written():
    html = sanitise(
        '<img src="/static/img/favicon.svg" alt="i"> <a href="/concepts/tcp/#handshake">t</a> '
        '<a href="https://a.example/?a=1&amp;copy=2">w</a> <a href="mailto:a@a.example">m</a>'
    )
    assert html == (
        '<img src="/static/img/favicon.svg" alt="i"> <a href="/concepts/tcp/#handshake">t</a> '
        '<a href="https://a.example/?a=1&amp;copy=2">w</a> <a href="mailto:a@a.example">m</a>'
    )


def test_attribute_lists_set_only_a_safe_id_and_allowed_classes():
    html = render(
        "A paragraph\n"
        '{: #good-id .lead .button onclick="alert(1)" style="color:red" data-x="1" hx-get="/" }'
        '\n\n## Heading {: #Bad_ID .visually-hidden title="t" }\n\n'
        '[x](/a){: href="javascript:alert(1)" onmouseover="alert(1)" .lead }'
    ).html
    assert '<p class="lead" id="good-id">A paragraph</p>' in html
    assert '<h2 id="heading">Heading' in html, "the id from the heading's words, not Bad_ID"
    assert '<a class="lead" href="/a">x</a>' in html
    for refused in ["onclick", "style", "data-x", "hx-get", "button", "Bad_ID", "visually-hidden",
                    "title=\"t\"", "javascript", "onmouseover"]:  # fmt: skip
        assert refused not in html, refused


def _images(html: str) -> list[tuple[str, dict]]:
    found = []

    class Images(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "img":
                found.append((tag, dict(attrs)))

    Images().feed(html)
    return found


# --- b. Concepts through the admin, and the admin's preview ------------------------------------

CONCEPT_CHUNK = 40

# Every saved page adds its title to the glossary, and a new glossary compiles a new regex of all
# terms (about 0.1 s). The admin loops below freeze the glossary so that this file stays fast;
# test_glossary_links_to_payload_titles_are_inert covers payload titles as glossary terms.


def _add_concept(client, text: str, slug: str) -> Concept:
    response = client.post(
        "/admin/concepts/concept/add/",
        {
            "title": form_text(text, 200),
            "slug": slug,
            "level": Level.objects.get(slug="foundations").pk,
            "order": 999,
            "summary": form_text(text, 300),
            "body": form_text(text),
            "aliases": form_text(text).replace("\n", " "),
            "references": form_text(text, 200).replace("\n", " ") + " | https://a.example/ref",
        },
    )
    assert response.status_code == 302, (
        f"admin refused concept {text!r}: {re.findall(r'errorlist[^>]*>(.*?)</ul>', response.text)}"
    )
    return Concept.objects.get(slug=slug)


@pytest.mark.parametrize("chunk", chunks(CONCEPT_CHUNK), ids=chunk_ids(CONCEPT_CHUNK))
def test_concept_pages_and_preview_show_editor_payloads_inert(client, staff, chunk):
    client.force_login(staff)
    harmless = _add_concept(client, HARMLESS, "harmless-probe")
    base_detail = page(client.get(f"/concepts/{harmless.slug}/"), "baseline concept")
    base_change = page(client.get(f"/admin/concepts/concept/{harmless.pk}/change/"), "baseline")
    base_list = page(client.get("/concepts/"), "baseline concept list")
    base_search = _search_pages(client, HARMLESS, harmless.slug)
    with frozen_glossary():
        for number, payload in enumerate(chunk):
            concept = _add_concept(client, payload, f"xss-probe-{number}")
            detail = page(client.get(f"/concepts/{concept.slug}/"), f"/concepts/{concept.slug}/")
            assert_inert(detail, base_detail, payload=payload, where="concept page")
            change = client.get(f"/admin/concepts/concept/{concept.pk}/change/")
            assert_inert(page(change, "admin"), base_change, payload=payload, where="admin form")
            preview = page(client.post("/preview/markdown/", {"body": payload}), "preview")
            assert_inert(preview, payload=payload, where="/preview/markdown/")
            for where, html in _search_pages(client, payload, concept.slug).items():
                assert_inert(html, base_search[where], payload=payload, where=where)
    listing = page(client.get("/concepts/"), "/concepts/")
    assert_inert(listing, base_list, payload=f"one of {len(chunk)} summaries", where="/concepts/")


def _search_pages(client, text: str, slug: str) -> dict[str, str]:
    """Search shows titles and snippets of what it finds, and echoes the query on every page."""
    query = form_text(text)
    suggestions = {"HX-Request": "true", "HX-Target": "search-suggestions"}
    return {
        "search results": page(client.get("/search/", {"q": query, "all": "1"}), "search"),
        "search suggestions": page(client.get("/search/", {"q": query}, headers=suggestions), ""),
        "page reached by search": page(client.get(f"/concepts/{slug}/", {"q": query}), "?q="),
    }


def test_glossary_links_to_payload_titles_are_inert(client, staff):
    # Titles, names and aliases become glossary terms that link their mentions on other pages;
    # a concept alias "term#anchor" even chooses the link's fragment.
    level = Level.objects.get(slug="foundations")
    family = Family.objects.order_by("order").first()
    Concept.objects.bulk_create(
        Concept(slug=f"gloss-{i}", title=form_text(p, 200), summary="s", body="b", level=level,
                aliases=[f"Zq concept alias {i}#{form_text(p)}"])
        for i, p in enumerate(PAYLOADS)
    )  # fmt: skip
    Metric.objects.bulk_create(
        Metric(slug=f"gloss-{i}", name=form_text(p, 120), summary="s", body="b", family=family,
               aliases=[f"Zq metric alias {i}", form_text(p)])
        for i, p in enumerate(PAYLOADS)
    )  # fmt: skip
    mentions = "\n\n".join(
        f"About {p} and Zq concept alias {i}, Zq metric alias {i}." for i, p in enumerate(PAYLOADS)
    )
    html = render(mentions).html
    assert html.count('class="glossary-link"') >= 2 * len(PAYLOADS), "the aliases are linked"
    assert_inert(html, payload="every payload as a title and alias", where="glossary links")
    client.force_login(staff)
    preview = page(client.post("/preview/markdown/", {"body": mentions}), "preview")
    assert_inert(preview, payload="every payload as a title and alias", where="preview")


# --- c. Metrics through the admin (the formula is LaTeX rendered to MathML) ---------------------

METRIC_CHUNK = 40


def _add_metric(client, text: str, slug: str) -> Metric:
    response = client.post(
        "/admin/metrics/metric/add/",
        {
            "name": form_text(text, 120),
            "slug": slug,
            "family": Family.objects.order_by("order").first().pk,
            "order": 999,
            "summary": form_text(text, 300),
            "formula": form_text(text),
            "value_range": form_text(text, 40),
            "higher_is_better": "on",
            "calculator": "",
            "body": form_text(text),
            "example": "{}",
            "aliases": form_text(text).replace("\n", " "),
            "references": form_text(text, 200).replace("\n", " ") + " | https://a.example/ref",
        },
    )
    assert response.status_code == 302, (
        f"admin refused metric {text!r}: {re.findall(r'errorlist[^>]*>(.*?)</ul>', response.text)}"
    )
    return Metric.objects.get(slug=slug)


@pytest.mark.parametrize("chunk", chunks(METRIC_CHUNK), ids=chunk_ids(METRIC_CHUNK))
def test_metric_pages_show_editor_payloads_inert(client, staff, chunk):
    client.force_login(staff)
    harmless = _add_metric(client, HARMLESS, "harmless-probe")
    base_detail = page(client.get(f"/metrics/{harmless.slug}/"), "baseline metric")
    base_list = page(client.get("/metrics/"), "baseline metric list")
    with frozen_glossary():  # see the note above _add_concept
        for number, payload in enumerate(chunk):
            metric = _add_metric(client, payload, f"xss-probe-{number}")
            assert_inert(metric.formula_html, payload=payload, where="stored formula_html")
            detail = page(client.get(f"/metrics/{metric.slug}/"), f"/metrics/{metric.slug}/")
            assert_inert(detail, base_detail, payload=payload, where="metric page")
    listing = page(client.get("/metrics/"), "/metrics/")
    assert_inert(listing, base_list, payload=f"one of {len(chunk)} summaries", where="/metrics/")


# --- d. Design docs: every prompt, every page that shows an answer, the export -----------------


def _prompts() -> list[Prompt]:
    return list(Prompt.objects.select_related("step").order_by("step__order", "order"))


def _values_for(payloads: list[str], prompts: list[Prompt]) -> dict[str, str]:
    """Every prompt gets a payload; every payload lands in a Markdown prompt at least once."""
    markdown = [p for p in prompts if p.kind == Prompt.Kind.MARKDOWN]
    others = [p for p in prompts if p.kind != Prompt.Kind.MARKDOWN]
    values = {p.key: payloads[i % len(payloads)] for i, p in enumerate(markdown)}
    values |= {p.key: payloads[(i * 7 + 3) % len(payloads)] for i, p in enumerate(others)}
    return values


def _autosave(client, doc_pk: int, key: str, value: str, version: int):
    return client.post(
        f"/docs/{doc_pk}/answers/{key}/",
        {key: value, f"version_{key}": version},
        headers={"HX-Request": "true"},
    )


def _write_doc(client, title: str, values: dict[str, str], prompts: list[Prompt]) -> dict:
    """Create a doc and write ``values`` through every path the wizard offers.

    Returns the HTML of every response and page that shows the text, keyed by where it came from,
    so that a payload doc and a harmless doc can be compared page by page.
    """
    out: dict[str, str] = {}
    new = {"title": form_text(title, 200), "problem": form_text(title)}
    response = client.post("/docs/new/", new)
    assert response.status_code == 302, f"/docs/new/ refused {title!r}"
    doc = DesignDoc.objects.filter(owner__username="alice").latest("pk")
    for prompt in prompts:
        response = _autosave(client, doc.pk, prompt.key, values[prompt.key], 0)
        out[f"autosave {prompt.key}"] = page(response, f"autosave {prompt.key}")
    assert doc.answers.count() == len(prompts), "every prompt holds its text"
    first = Step.objects.order_by("order").first()
    step_prompts = [p for p in prompts if p.step_id == first.pk]
    answers = doc.answers_by_key()
    saved = {p.key: values[p.key] for p in step_prompts}
    saved |= {f"version_{p.key}": answers[p.key].version for p in step_prompts}
    response = client.post(f"/docs/{doc.pk}/steps/{first.slug}/", saved | {"go": "stay"})
    assert response.status_code == 302, "a plain POST of unchanged answers saves"
    # Another tab: stale versions and new text, refused with both texts shown.
    stale = {p.key: values[p.key] + " (other tab)" for p in step_prompts}
    stale |= {f"version_{p.key}": 0 for p in step_prompts}
    response = client.post(f"/docs/{doc.pk}/steps/{first.slug}/", stale | {"go": "stay"})
    out["step conflict page"] = page(response, "step conflict", status=409)
    key = step_prompts[0].key
    response = _autosave(client, doc.pk, key, values[key] + " (third tab)", 0)
    out["autosave conflict"] = page(response, "autosave conflict", status=409)
    out["doc"] = page(client.get(f"/docs/{doc.pk}/"), "doc view")
    for step in Step.objects.order_by("order"):
        out[f"step {step.slug}"] = page(client.get(f"/docs/{doc.pk}/steps/{step.slug}/"), step.slug)
    out["history"] = page(client.get(f"/docs/{doc.pk}/history/"), "history")
    revisions = list(doc.revisions.order_by("created_at", "pk"))
    oldest, newest = revisions[0], revisions[-1]
    compare = client.get(f"/docs/{doc.pk}/history/", {"a": oldest.pk, "b": newest.pk})
    out["history diff"] = page(compare, "history diff")
    assert "diff-lines" in out["history diff"], "the comparison shows the changed text"
    response = client.post(f"/docs/{doc.pk}/duplicate/", follow=True)
    out["duplicated (message)"] = page(response, "duplicate")
    export = client.get(f"/docs/{doc.pk}/export.md")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/markdown"), export["Content-Type"]
    assert export["Content-Disposition"].startswith("attachment;"), "the export downloads"
    assert export["X-Content-Type-Options"] == "nosniff", "no browser sniffs it into HTML"
    out["doc list"] = page(client.get("/docs/"), "doc list")
    query = {"q": form_text(values[step_prompts[0].key]), "all": "1"}
    out["search"] = page(client.get("/search/", query), "search of the user's docs")
    return out


DOC_CHUNK = 34  # the number of Markdown prompts: each payload lands in one of them
_doc_baseline: dict[str, str] = {}


@pytest.mark.parametrize("chunk", chunks(DOC_CHUNK), ids=chunk_ids(DOC_CHUNK))
def test_design_doc_pages_show_user_payloads_inert(client, alice, chunk):
    client.force_login(alice)
    prompts = _prompts()
    if not _doc_baseline:  # the same pages with harmless text, written once for every chunk
        harmless = dict.fromkeys((p.key for p in prompts), HARMLESS)
        _doc_baseline.update(_write_doc(client, HARMLESS, harmless, prompts))
    baseline = _doc_baseline
    values = _values_for(chunk, prompts)
    written = _write_doc(client, chunk[0], values, prompts)
    for where, html in written.items():
        payload = values.get(where.removeprefix("autosave "), f"one of {chunk!r}")
        assert_inert(html, baseline[where], payload=payload, where=where)


def _new_doc(client, owner: str, text: str) -> DesignDoc:
    response = client.post(
        "/docs/new/", {"title": form_text(text, 200), "problem": form_text(text)}
    )
    assert response.status_code == 302, f"/docs/new/ refused {text!r}"
    return DesignDoc.objects.filter(owner__username=owner).latest("pk")


@pytest.mark.parametrize("chunk", chunks(DOC_CHUNK), ids=chunk_ids(DOC_CHUNK))
def test_design_doc_titles_and_problems_show_inert(client, alice, bob, chunk):
    # bob writes the same number of docs with harmless titles: his pages are the baseline.
    client.force_login(bob)
    harmless = [_new_doc(client, "bob", HARMLESS) for _ in chunk]
    base_step = page(client.get(f"/docs/{harmless[0].pk}/steps/problem-clarification/"), "base")
    base_rename = client.post(f"/docs/{harmless[0].pk}/rename/", {"title": " ", "problem": "x"})
    base_rename = page(base_rename, "baseline rename", status=400)
    client.post(f"/docs/{harmless[0].pk}/delete/")
    base_list, base_trash = page(client.get("/docs/"), "list"), page(client.get("/docs/trash/"), "")
    client.force_login(alice)
    docs = []
    for payload in chunk:
        doc = _new_doc(client, "alice", payload)
        docs.append(doc)
        step = page(client.get(f"/docs/{doc.pk}/steps/problem-clarification/"), "step")
        assert_inert(step, base_step, payload=payload, where="step page")
        refused = client.post(
            f"/docs/{doc.pk}/rename/", {"title": " ", "problem": form_text(payload)}
        )
        # The refused rename is the doc view again, with the title and the problem as typed.
        refused = page(refused, "rename", status=400)
        assert_inert(refused, base_rename, payload=payload, where="doc view (refused rename)")
    client.post(f"/docs/{docs[0].pk}/delete/")
    titles = f"one of {len(chunk)} titles"
    assert_inert(page(client.get("/docs/"), "/docs/"), base_list, payload=titles, where="/docs/")
    trash = page(client.get("/docs/trash/"), "/docs/trash/")
    assert_inert(trash, base_trash, payload=chunk[0], where="/docs/trash/")


def test_an_interviews_problem_and_scale_show_inert_on_its_step_pages(client, alice):
    """A mock interview's step pages show the problem's scale (editor text) beside the doc's
    problem statement (the writer's): both as text, never as markup."""
    from apps.practice.models import Attempt, Problem

    problem = Problem.objects.get(slug="ads-click-prediction")
    client.force_login(alice)

    def step_page(text: str) -> str:
        # As the admin would store it: a form refuses NUL, and PostgreSQL cannot keep one.
        scale = f"{form_text(text)[:480]} scale-shown"
        Problem.objects.filter(pk=problem.pk).update(scale=scale)
        doc = Attempt.start(alice, Problem.objects.get(pk=problem.pk), 45).doc
        DesignDoc.objects.filter(pk=doc.pk).update(problem=f"{form_text(text)} problem-shown")
        html = page(client.get(f"/docs/{doc.pk}/steps/problem-clarification/"), "step")
        assert "problem-shown" in html and "scale-shown" in html, "both are on the page"
        return html

    baseline = step_page(HARMLESS)
    for payload in PAYLOADS:
        assert_inert(step_page(payload), baseline, payload=payload, where="interview step")


# --- e. Calculators, the chooser and the account forms echo what was typed ---------------------


def _calculator_baseline(client, slug: str, htmx: bool) -> str:
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(f"/metrics/{slug}/calculate/", {}, headers=headers)
    return page(response, f"{slug} baseline")


@pytest.mark.parametrize("chunk", chunks(50), ids=chunk_ids(50))
def test_calculators_chooser_and_account_forms_echo_payloads_inert(client, chunk):
    base_labels = _calculator_baseline(client, "confusion-matrix", htmx=False)
    base_numbers = _calculator_baseline(client, "accuracy", htmx=True)
    base_chooser = page(client.get("/metrics/choose/", {"task": "nothing"}), "chooser")
    base_signup = page(client.post("/accounts/signup/", {"username": "x"}), "signup")
    base_login = page(client.post("/accounts/login/", {"username": "x"}), "login")
    for payload in chunk:
        labels = {"y_true": payload, "y_pred": payload}
        response = client.post("/metrics/confusion-matrix/calculate/", labels)
        assert_inert(page(response, "labels"), base_labels, payload=payload, where="multiclass")
        numbers = {"y_true": payload, "y_score": payload, "threshold": payload, "beta": payload}
        response = client.post(
            "/metrics/accuracy/calculate/", numbers, headers={"HX-Request": "true"}
        )
        assert_inert(page(response, "numbers"), base_numbers, payload=payload, where="binary")
        query = {"task": payload, "imbalance": payload, "costlier": payload, "ranked": payload}
        chooser = page(client.get("/metrics/choose/", query), "chooser")
        assert_inert(chooser, base_chooser, payload=payload, where="/metrics/choose/")
        cache.clear()  # sign-up and sign-in are rate limited per address
        account = {"username": form_text(payload), "email": form_text(payload)}
        signup = page(client.post("/accounts/signup/", account), "signup")
        assert_inert(signup, base_signup, payload=payload, where="/accounts/signup/")
        login = page(client.post("/accounts/login/", {"username": form_text(payload)}), "login")
        assert_inert(login, base_login, payload=payload, where="/accounts/login/")


# --- The checker itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<img src="/a.png" onerror="alert(1)">',
        '<p style="color:red">x</p>',
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<a href=" &#14; JAVASCRIPT:alert(1)">x</a>',
        '<svg><a xlink:href="data:text/html,x">x</a></svg>',
        '<form><button formaction="vbscript:x">x</button></form>',
        '<div hx-get="/admin/" hx-trigger="load">x</div>',
        '<math><maction actiontype="x"><mi href="javascript:x">y</mi></maction></math>',
    ],
)
def test_the_checker_finds_what_a_browser_would_run(html):
    assert findings(html), html


def test_the_checker_accepts_the_site_own_kind_of_html():
    html = render("# Title\n\nSee [[tcp]], $x^2$, `code` and [a link](https://a.example).").html
    assert not findings(html), findings(html)


def test_every_payload_is_loaded():
    assert len(PAYLOADS) >= 120
    assert "[x](java\nscript:alert(1))" in PAYLOADS
    assert not any(p.startswith("#") or not p for p in PAYLOADS)
