"""Nothing typed is lost, and no design-doc request can stall the site (the server's side).

The browser's side (leaving the page, retries, drafts) is in test_browser_autosave.py.
"""

import time

import pytest
from django.db import connection

from apps.designdocs import diff
from apps.designdocs.models import (
    ANSWER_MAX_CHARS,
    DOC_MAX_CHARS,
    Answer,
    DesignDoc,
    Prompt,
    Revision,
    check_number,
)
from apps.search.indexing import INDEX_MAX_CHARS
from apps.search.models import Entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def doc(alice):
    return DesignDoc.objects.create(owner=alice, title="Fraud detection", problem="Stop fraud.")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def autosave(client, doc, key, value, version, *, tab="", seq=0, query=""):
    return client.post(
        f"/docs/{doc.pk}/answers/{key}/{query}",
        {key: value, f"version_{key}": version, "tab": tab, "seq": seq},
        headers={"HX-Request": "true"},
    )


def stored(doc, key="corner_cases") -> Answer:
    return Answer.objects.get(doc=doc, prompt__key=key)


# --- One tab's saves never conflict with each other, and newer text always wins --------------


def test_a_tabs_save_sent_before_its_previous_save_was_acknowledged_is_not_a_conflict(
    signed_in, doc
):
    assert autosave(signed_in, doc, "corner_cases", "abc", 0, tab="A", seq=1).status_code == 200
    # The page closed before the answer to seq 1 came back: seq 2 still names version 0.
    response = autosave(signed_in, doc, "corner_cases", "abcd", 0, tab="A", seq=2)
    assert response.status_code == 200
    assert stored(doc).value == "abcd" and stored(doc).version == 2


def test_another_tabs_stale_save_is_still_a_conflict(signed_in, doc):
    autosave(signed_in, doc, "corner_cases", "from A", 0, tab="A", seq=1)
    response = autosave(signed_in, doc, "corner_cases", "from B", 0, tab="B", seq=1)
    assert response.status_code == 409
    assert stored(doc).value == "from A"


def test_a_late_retry_from_the_same_tab_never_overwrites_its_newer_text(signed_in, doc):
    autosave(signed_in, doc, "corner_cases", "newest text", 0, tab="A", seq=5)
    response = autosave(signed_in, doc, "corner_cases", "older text", 0, tab="A", seq=3)
    assert response.status_code == 200  # acknowledged: the tab's newer text is what it wants
    assert stored(doc).value == "newest text"


# --- Conflicts across any number of tabs ----------------------------------------------------


def test_every_refused_text_from_every_tab_is_its_own_revision(signed_in, doc):
    autosave(signed_in, doc, "corner_cases", "tab A", 0, tab="A", seq=1)
    assert autosave(signed_in, doc, "corner_cases", "tab B", 0, tab="B", seq=1).status_code == 409
    assert autosave(signed_in, doc, "corner_cases", "tab C", 0, tab="C", seq=1).status_code == 409
    refused = [
        r.snapshot["answers"]["corner_cases"]
        for r in doc.revisions.filter(reason__startswith="Unsaved text")
    ]
    assert sorted(refused) == ["tab B", "tab C"]


def test_one_tab_typing_on_in_a_refused_answer_updates_its_own_revision(signed_in, doc):
    autosave(signed_in, doc, "corner_cases", "tab A", 0, tab="A", seq=1)
    autosave(signed_in, doc, "corner_cases", "tab B", 0, tab="B", seq=1)
    autosave(signed_in, doc, "corner_cases", "tab B typing on", 0, tab="B", seq=2)
    refused = doc.revisions.filter(reason__startswith="Unsaved text")
    assert [r.snapshot["answers"]["corner_cases"] for r in refused] == ["tab B typing on"]


def test_keep_my_text_keeps_the_other_tabs_text_in_the_history_first(signed_in, doc):
    autosave(signed_in, doc, "corner_cases", "saved by A", 0, tab="A", seq=1)
    autosave(signed_in, doc, "corner_cases", "typed in B", 0, tab="B", seq=1)
    response = autosave(
        signed_in, doc, "corner_cases", "typed in B", 0, tab="B", seq=2, query="?keep=1"
    )
    assert response.status_code == 200
    assert stored(doc).value == "typed in B"
    texts = [r.snapshot["answers"].get("corner_cases") for r in doc.revisions.all()]
    assert "saved by A" in texts and "typed in B" in texts


def test_the_conflict_view_offers_the_saved_text_and_its_version(signed_in, doc):
    autosave(signed_in, doc, "corner_cases", 'saved "text"\nline two', 0, tab="A", seq=1)
    response = autosave(signed_in, doc, "corner_cases", "mine", 0, tab="B", seq=1)
    assert response.status_code == 409
    assert 'data-saved-version="1"' in response.text
    assert 'data-saved-text="saved &quot;text&quot;\nline two"' in response.text
    assert 'data-keep-version="1"' in response.text


# --- Size limits: a clear message, and the text stays with the writer ----------------------


def test_an_answer_over_the_limit_is_refused_with_a_message_and_nothing_changes(signed_in, doc):
    autosave(signed_in, doc, "corner_cases", "short", 0)
    huge = "word " * (ANSWER_MAX_CHARS // 5 + 1)
    response = autosave(signed_in, doc, "corner_cases", huge, 1)
    assert response.status_code == 413
    assert "Not saved" in response.text and f"{ANSWER_MAX_CHARS:,}" in response.text
    assert stored(doc).value == "short"


def test_a_plain_post_over_the_limit_shows_the_step_again_with_the_text_in_the_field(
    signed_in, doc
):
    huge = "x" * (ANSWER_MAX_CHARS + 1)
    response = signed_in.post(
        f"/docs/{doc.pk}/steps/problem-clarification/",
        {"corner_cases": huge, "version_corner_cases": "0", "business_goal": "Goal",
         "version_business_goal": "0", "go": "next"},
    )  # fmt: skip
    assert response.status_code == 413
    assert huge in response.text and "Not saved" in response.text
    assert not Answer.objects.filter(doc=doc, prompt__key="corner_cases").exists()
    assert Answer.objects.get(doc=doc, prompt__key="business_goal").value == "Goal"


def test_the_whole_document_has_a_limit_too(signed_in, doc, monkeypatch):
    monkeypatch.setattr("apps.designdocs.models.DOC_MAX_CHARS", 1_000)
    assert autosave(signed_in, doc, "corner_cases", "a" * 600, 0).status_code == 200
    response = autosave(signed_in, doc, "out_of_scope", "b" * 600, 0)
    assert response.status_code == 413 and "whole document" in response.text
    assert DOC_MAX_CHARS >= 10 * ANSWER_MAX_CHARS


def test_a_problem_statement_over_its_limit_gets_a_message_at_the_field(signed_in):
    response = signed_in.post("/docs/new/", {"title": "Big", "problem": "p" * 10_001})
    assert response.status_code == 200
    assert "Keep the problem statement under 10,000 characters" in response.text
    assert not DesignDoc.objects.filter(title="Big").exists()


# --- Bounded work ------------------------------------------------------------------------------


def test_a_pathological_number_answer_is_checked_in_linear_time():
    started = time.perf_counter()
    message = check_number("1 x" + " " * 100_000 + "y", ["QPS"])
    assert time.perf_counter() - started < 1.0
    assert "is not a unit here" in message
    assert check_number("  12,000   QPS  ", ["QPS"]) == ""
    assert check_number("1.5e3 qps", ["QPS"]) == ""
    assert "Enter a number" in check_number("lots", ["QPS"])


def test_a_doc_of_120000_distinct_words_saves_and_is_indexed_bounded(signed_in, doc):
    # Over PostgreSQL's 1 MB tsvector limit if indexed whole; each answer is under its limit.
    prompts = list(Prompt.objects.filter(kind="markdown").order_by("pk")[:10])
    assert len(prompts) == 10
    for n, prompt in enumerate(prompts):
        words = " ".join(f"{n}{i:x}" for i in range(12_000))
        assert len(words) <= ANSWER_MAX_CHARS
        assert autosave(signed_in, doc, prompt.key, words, 0).status_code == 200
    assert Answer.objects.filter(doc=doc).count() == 10
    entry = Entry.objects.get(kind="doc", object_id=doc.pk)
    assert len(entry.body) <= INDEX_MAX_CHARS
    if connection.vendor == "postgresql":
        assert entry.search_vector is not None


def test_diff_of_two_long_revisions_is_bounded_and_says_it_was_cut():
    old = "\n".join(f"paragraph {i} " + "alpha beta " * 40 for i in range(200))
    new = "\n".join(f"paragraph {i} " + "alpha gamma " * 40 for i in range(200))
    started = time.perf_counter()
    changes = diff.compare({"answers": {"x": old}}, {"answers": {"x": new}})
    assert time.perf_counter() - started < 3.0
    assert changes[0].cut is True


def test_diff_marks_the_changed_words_inside_a_changed_paragraph():
    lines, cut = diff.lines(
        "Serve with a two-tower model at 50 ms.\nSame line.",
        "Serve with a two-tower model at 80 ms.\nSame line.",
    )
    assert not cut
    assert lines[0].kind == "changed"
    assert ("removed", "50") in lines[0].words and ("added", "80") in lines[0].words
    assert lines[1].kind == "same"


def test_history_page_shows_word_changes(signed_in, doc):
    autosave(signed_in, doc, "business_goal", "Cut fraud losses by 30 percent", 0)
    first = doc.revisions.get()
    Revision.objects.filter(pk=first.pk).update(created_at=first.created_at.replace(year=2020))
    autosave(signed_in, doc, "business_goal", "Cut fraud losses by 40 percent", 1)
    doc.record_revision("Later")
    newest = doc.revisions.first()
    page = signed_in.get(f"/docs/{doc.pk}/history/?a={first.pk}&b={newest.pk}")
    assert page.status_code == 200
    assert "<del>30</del>" in page.text and "<ins>40</ins>" in page.text


# --- Caching -----------------------------------------------------------------------------------


def test_every_signed_in_page_export_and_history_is_private_and_not_stored(signed_in, doc):
    autosave(signed_in, doc, "business_goal", "Goal", 0)
    for url in [
        "/docs/",
        f"/docs/{doc.pk}/",
        f"/docs/{doc.pk}/history/",
        f"/docs/{doc.pk}/export.md",
        "/docs/export.zip",
        f"/docs/{doc.pk}/steps/problem-clarification/",
        "/concepts/",
    ]:
        response = signed_in.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store", url


def test_a_cached_page_is_not_served_for_a_host_django_refuses(client):
    assert client.get("/concepts/").status_code == 200
    assert client.get("/concepts/").headers.get("X-Page-Cache") == "hit"
    response = client.get("/concepts/", headers={"Host": "evil.example"})
    assert response.status_code == 400


def test_prompt_keys_used_here_exist():
    keys = ["corner_cases", "out_of_scope", "business_goal"]
    assert Prompt.objects.filter(key__in=keys).count() == 3


def test_an_answer_renders_with_bounded_work_and_says_images_are_not_shown(signed_in, doc):
    deep = "\n".join("  " * n + "- item" for n in range(250))  # 250 levels, 69 KB
    response = autosave(signed_in, doc, "corner_cases", deep, 0)
    assert response.status_code == 200
    view = signed_in.get(f"/docs/{doc.pk}/")
    assert view.status_code == 200 and "item" in view.text
    response = autosave(signed_in, doc, "corner_cases", "See ![arch](/static/x.png) here", 1)
    assert response.status_code == 200
    assert "Images are not shown in answers" in response.text
    assert "<img" not in stored(doc).value_html
    page = signed_in.get(f"/docs/{doc.pk}/steps/problem-clarification/")
    assert "Images are not shown in answers" in page.text
