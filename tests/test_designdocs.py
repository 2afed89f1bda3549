"""Design docs: the wizard, autosave, conflicts, history, trash, export, privacy, query counts."""

import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.designdocs.forms import DiagramForm
from apps.designdocs.models import Answer, DesignDoc, Prompt, Revision, Step

pytestmark = pytest.mark.django_db

VALID = {
    "text": "A short answer",
    "markdown": "A **considered** answer with a list:\n\n- one\n- two",
    "number": "1200",
}


def valid_value(prompt: Prompt) -> str | list[str]:
    if prompt.kind == "number":
        return f"1200 {prompt.units[0]}" if prompt.units else "1200"
    if prompt.kind == "choice":
        return prompt.choices[0]["value"]
    if prompt.kind == "metrics":
        from apps.metrics.models import Metric

        return [Metric.objects.filter(family__slug__in=prompt.families).first().slug]
    return f"{VALID[prompt.kind]} ({prompt.key})"


@pytest.fixture
def doc(alice):
    return DesignDoc.objects.create(owner=alice, title="Fraud detection", problem="Stop fraud.")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def autosave(client, doc, key, value, version, **extra):
    return client.post(
        f"/docs/{doc.pk}/answers/{key}/",
        {key: value, f"version_{key}": version},
        headers={"HX-Request": "true"},
        **extra,
    )


# --- The template --------------------------------------------------------------------------


def test_template_has_six_steps_with_the_seed_prompts_then_optional_sections():
    assert list(Step.objects.filter(optional=False).values_list("slug", flat=True)) == [
        "problem-clarification", "data-collection", "exploratory-data-analysis",
        "model-and-metric-selection", "model-training", "evaluation",
    ]  # fmt: skip
    assert list(Step.objects.filter(optional=True).values_list("slug", flat=True)) == [
        "beyond-the-template"
    ]
    keys = set(Prompt.objects.values_list("key", flat=True))
    for key in ["business_goal", "peak_qps", "data_size", "latency_budget", "energy_constraint",
                "memory_constraint", "corner_cases", "model_type", "offline_metrics",
                "business_metrics", "hardware_metrics", "loss", "regularization", "optimizer",
                "activation", "imbalance_handling", "overfitting", "normalization",
                "ab_test_design", "monitoring", "model_freshness"]:  # fmt: skip
        assert key in keys, key


# --- Creating and walking the wizard -------------------------------------------------------


def test_full_wizard_by_plain_post(signed_in):
    response = signed_in.post("/docs/new/", {"title": "Ranking feed", "problem": "Rank posts."})
    doc = DesignDoc.objects.get(title="Ranking feed")
    steps = list(Step.objects.order_by("order"))
    assert response.url == f"/docs/{doc.pk}/steps/{steps[0].slug}/"
    for index, step in enumerate(steps):
        page = signed_in.get(f"/docs/{doc.pk}/steps/{step.slug}/")
        assert page.status_code == 200 and step.title in page.text
        data = {"go": "next" if index < len(steps) - 1 else "document"}
        for prompt in step.prompts.all():
            data[prompt.key] = valid_value(prompt)
            data[f"version_{prompt.key}"] = "0"
        response = signed_in.post(f"/docs/{doc.pk}/steps/{step.slug}/", data)
        expected = (
            f"/docs/{doc.pk}/steps/{steps[index + 1].slug}/"
            if index < len(steps) - 1
            else f"/docs/{doc.pk}/"
        )
        assert response.status_code == 302 and response.url == expected
    assert (
        Answer.objects.filter(doc=doc, error="").exclude(value="").count() == Prompt.objects.count()
    )
    view = signed_in.get(f"/docs/{doc.pk}/")
    assert "Completeness: 100 %" in view.text
    assert "<strong>considered</strong>" in view.text
    assert doc.revisions.filter(reason__startswith="Left step 6").exists()


def test_every_step_shows_the_problem_statement_while_answering(signed_in, alice):
    problem = "Flag fraudulent card payments.\n\nDecide within 100 ms <b>before</b> approval."
    doc = DesignDoc.objects.create(owner=alice, title="Fraud", problem=problem)
    for step in Step.objects.all():
        page = signed_in.get(f"/docs/{doc.pk}/steps/{step.slug}/").text
        block = page[page.index('<details class="doc-problem" open>') :]
        block = block[: block.index("</details>")]
        assert "<summary>The problem</summary>" in block, step.slug
        assert "<p>Flag fraudulent card payments.</p>" in block, step.slug
        assert "<p>Decide within 100 ms &lt;b&gt;before&lt;/b&gt; approval.</p>" in block
        assert "<b>before</b>" not in page, "shown as typed, never as markup"


def test_a_doc_with_no_problem_statement_shows_no_empty_problem_block(signed_in, alice):
    doc = DesignDoc.objects.create(owner=alice, title="Untitled idea")
    page = signed_in.get(f"/docs/{doc.pk}/steps/problem-clarification/").text
    assert "doc-problem" not in page


TITLE_NEEDED = "Give the document a title: what the system does, e.g. “Fraud detection"


def title_error(response) -> str:
    """The message shown at the title field (the one its input names in aria-describedby)."""
    html = response.content.decode()
    match = re.search(r'<ul class="errorlist" id="id_title_error">(.*?)</ul>', html, re.S)
    assert match and 'aria-describedby="id_title_helptext id_title_error"' in html, html
    return match.group(1)


def test_new_doc_needs_a_title_and_says_so_at_the_field(signed_in):
    response = signed_in.post("/docs/new/", {"title": "  ", "problem": "x"})
    assert response.status_code == 200
    assert TITLE_NEEDED in title_error(response)
    assert "This field is required" not in response.text
    assert "\nx</textarea>" in response.text, "the problem statement typed is kept"
    assert not DesignDoc.objects.filter(problem="x").exists()


def test_renaming_to_a_blank_or_too_long_title_says_why_at_the_field(signed_in, doc):
    response = signed_in.post(f"/docs/{doc.pk}/rename/", {"title": " \t ", "problem": "p"})
    assert response.status_code == 400 and TITLE_NEEDED in title_error(response)
    response = signed_in.post(f"/docs/{doc.pk}/rename/", {"title": "t" * 201, "problem": "p"})
    assert response.status_code == 400
    assert "Keep the title to 200 characters (it has 201)." in title_error(response)
    doc.refresh_from_db()
    assert doc.title == "Fraud detection"


def test_autosave_by_htmx_saves_and_reports(signed_in, doc):
    response = autosave(signed_in, doc, "business_goal", "Cut fraud losses by 30 %", 0)
    assert response.status_code == 200
    assert "Saved at" in response.text
    assert 'id="version-business_goal" value="1" hx-swap-oob="true"' in response.text
    answer = Answer.objects.get(doc=doc, prompt__key="business_goal")
    assert answer.value == "Cut fraud losses by 30 %" and answer.version == 1
    page = signed_in.get(f"/docs/{doc.pk}/steps/problem-clarification/")
    assert "Cut fraud losses by 30 %" in page.text


def test_changing_the_model_type_asks_pickers_to_refresh(signed_in, doc):
    response = autosave(signed_in, doc, "model_type", "ranking", 0)
    assert response.headers["HX-Trigger"] == "doc-choices-changed"
    picker = signed_in.get(f"/docs/{doc.pk}/pickers/offline_metrics/")
    assert 'value="ndcg"' in picker.text and 'value="accuracy"' not in picker.text
    assert "Recommended:" in picker.text


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("peak_qps", "lots", "Enter a number"),
        ("peak_qps", "1200 parsecs", "is not a unit here"),
        ("latency_budget", "-5 ms", "zero or a positive"),
        ("model_type", "astrology", "Choose one of the options"),
    ],
)
def test_invalid_values_are_explained_beside_the_field_and_kept(
    signed_in, doc, key, value, message
):
    response = autosave(signed_in, doc, key, value, 0)
    assert response.status_code == 200
    assert message in response.text
    answer = Answer.objects.get(doc=doc, prompt__key=key)
    assert answer.value == value and message in answer.error
    step = Prompt.objects.get(key=key).step
    page = signed_in.get(f"/docs/{doc.pk}/steps/{step.slug}/")
    assert (message in page.text and 'aria-invalid="true"' in page.text) or key == "model_type"


def test_valid_number_with_unit_and_thousands_separator(signed_in, doc):
    autosave(signed_in, doc, "peak_qps", "12,000 QPS", 0)
    assert Answer.objects.get(doc=doc, prompt__key="peak_qps").error == ""


# --- Nothing is lost: two tabs --------------------------------------------------------------


def test_two_tab_conflict_keeps_both_texts(signed_in, doc):
    assert autosave(signed_in, doc, "corner_cases", "Tab A text", 0).status_code == 200
    response = autosave(signed_in, doc, "corner_cases", "Tab B text", 0)
    assert response.status_code == 409
    assert "Tab A text" in response.text and "Tab B text" in response.text
    assert Answer.objects.get(doc=doc, prompt__key="corner_cases").value == "Tab A text"
    kept = doc.revisions.filter(reason__startswith="Unsaved text").first()
    assert kept.snapshot["answers"]["corner_cases"] == "Tab B text"
    # The user saw both and chose theirs.
    response = signed_in.post(
        f"/docs/{doc.pk}/answers/corner_cases/?keep=1",
        {"corner_cases": "Tab B text", "version_corner_cases": "0"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert Answer.objects.get(doc=doc, prompt__key="corner_cases").value == "Tab B text"


def test_conflict_by_plain_post_shows_both_and_saves_nothing_silently(signed_in, doc):
    autosave(signed_in, doc, "out_of_scope", "Saved elsewhere", 0)
    response = signed_in.post(
        f"/docs/{doc.pk}/steps/problem-clarification/",
        {"out_of_scope": "Typed here", "version_out_of_scope": "0", "go": "next"},
    )
    assert response.status_code == 409
    assert "Saved elsewhere" in response.text and "Typed here" in response.text
    assert Answer.objects.get(doc=doc, prompt__key="out_of_scope").value == "Saved elsewhere"
    response = signed_in.post(
        f"/docs/{doc.pk}/steps/problem-clarification/",
        {"out_of_scope": "Typed here", "version_out_of_scope": "0", "keep": "out_of_scope:1"},
    )
    assert response.status_code == 302
    assert Answer.objects.get(doc=doc, prompt__key="out_of_scope").value == "Typed here"


def test_a_step_posted_with_one_bad_version_saves_none_of_its_answers(signed_in, doc):
    response = signed_in.post(
        f"/docs/{doc.pk}/steps/problem-clarification/",
        {"business_goal": "Fewer chargebacks", "version_business_goal": "0",
         "latency_budget": "80 ms", "version_latency_budget": "abc"},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["version_latency_budget"]
    assert not doc.answers.filter(value="Fewer chargebacks").exists()


def test_a_bad_version_is_a_400_with_json(signed_in, doc):
    response = signed_in.post(
        f"/docs/{doc.pk}/answers/business_goal/",
        {"business_goal": "x", "version_business_goal": "abc"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["version_business_goal"]


@pytest.mark.parametrize("version", [str(2**31), str(2**63 - 1), "-1"])
def test_a_version_no_answer_can_have_is_a_400_not_a_crash(signed_in, doc, version):
    # The largest number the database holds, plus the one a save adds, overflowed it: a 500.
    for url, data in [
        (f"/docs/{doc.pk}/answers/business_goal/", {"version_business_goal": version}),
        (f"/docs/{doc.pk}/answers/business_goal/", {"version_business_goal": "0",
                                                    "keep": f"business_goal:{version}"}),
        (f"/docs/{doc.pk}/steps/problem-clarification/", {"version_business_goal": version}),
    ]:  # fmt: skip
        response = signed_in.post(url, {"business_goal": "x", **data})
        assert response.status_code == 400, url
        assert "whole number from 0" in response.json()["detail"][0]["msg"]
    assert not doc.answers.exists()


@pytest.mark.parametrize("body", ["json", "file", "nothing"])
def test_an_autosave_that_sends_no_text_field_saves_nothing_and_says_so(signed_in, doc, body):
    # Read as "", the text the writer had was emptied (the file), or kept as an unsaved text
    # from another tab (JSON, an empty body, whose version was taken as 0).
    autosave(signed_in, doc, "business_goal", "Fewer chargebacks", 0)
    url, headers = f"/docs/{doc.pk}/answers/business_goal/", {"HX-Request": "true"}
    if body == "json":
        data = {"business_goal": "x", "version_business_goal": 1}
        response = signed_in.post(url, data, content_type="application/json", headers=headers)
    elif body == "file":
        data = {"business_goal": SimpleUploadedFile("a.txt", b"x"), "version_business_goal": 1}
        response = signed_in.post(url, data, headers=headers)
    else:
        response = signed_in.post(url, headers=headers)
    assert response.status_code == 400
    assert "nothing was saved" in response.json()["detail"][0]["msg"]
    assert doc.answers.get(prompt__key="business_goal").value == "Fewer chargebacks"
    assert doc.revisions.count() == 1, "no text from another tab was kept"


def test_a_step_posted_with_a_version_but_no_text_saves_nothing_and_says_so(signed_in, doc):
    """The step's form (no JavaScript) always sends each field with its version; a version
    alone, read as "", emptied the answer."""
    autosave(signed_in, doc, "business_goal", "Fewer chargebacks", 0)
    url = f"/docs/{doc.pk}/steps/problem-clarification/"
    response = signed_in.post(url, {"version_business_goal": 1, "go": "next"})
    assert response.status_code == 400
    assert "nothing was saved" in response.json()["detail"][0]["msg"]
    assert doc.answers.get(prompt__key="business_goal").value == "Fewer chargebacks"
    whole = signed_in.post(url, {"business_goal": "Fewer disputes", "version_business_goal": 1})
    assert whole.status_code == 302
    assert doc.answers.get(prompt__key="business_goal").value == "Fewer disputes"


def test_a_title_and_problem_are_typed_and_shown_in_their_own_direction(signed_in, doc):
    """Hebrew or Arabic in the title, the problem and a diagram's title sat left-aligned."""
    new_doc = signed_in.get("/docs/").text
    page = signed_in.get(f"/docs/{doc.pk}/").text
    for html, name in (
        (new_doc, "title"),
        (new_doc, "problem"),
        (page, "title"),
        (page, "problem"),
        (page, "diagram-title"),
    ):
        field = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>', html)
        assert field and 'dir="auto"' in field.group(0), (name, field)
    assert 'dir="auto"' in str(DiagramForm()["title"]), "a diagram's title, in its editor"
    assert re.search(r'<h1 dir="auto">', page)


def test_right_to_left_text_is_typed_and_shown_in_its_own_direction(signed_in, doc):
    # Without dir="auto" an Arabic or Hebrew answer sat left-aligned, its end punctuation
    # drawn at its start ("؟ما هي").
    arabic = "ما نسبة الاحتيال المقبولة؟"
    assert autosave(signed_in, doc, "business_goal", arabic, 0).status_code == 200
    step = signed_in.get(f"/docs/{doc.pk}/steps/problem-clarification/").text
    fields = re.findall(r'<(?:textarea|input type="text")[^>]*>', step)
    assert fields and all('dir="auto"' in field for field in fields), fields
    page = signed_in.get(f"/docs/{doc.pk}/").text
    assert re.search(rf'<div class="prose doc-answer" dir="auto"><p>{arabic}</p>', page)


# --- History ---------------------------------------------------------------------------------


def test_revision_diff_and_restore(signed_in, doc):
    autosave(signed_in, doc, "business_goal", "First idea", 0)
    first = doc.revisions.get()  # the autosave kept a snapshot
    assert first.snapshot["answers"]["business_goal"] == "First idea"
    autosave(signed_in, doc, "business_goal", "Second idea", 1)
    assert doc.revisions.count() == 1, "at most one autosave snapshot every few minutes"
    Revision.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=1))
    second = doc.record_revision("checkpoint")
    page = signed_in.get(f"/docs/{doc.pk}/history/", {"a": first.pk, "b": second.pk})
    assert page.status_code == 200
    assert "<del>First</del><ins>Second</ins> idea" in page.text
    response = signed_in.post(f"/docs/{doc.pk}/history/{first.pk}/restore/", {"confirm": "yes"})
    assert response.status_code == 302
    assert Answer.objects.get(doc=doc, prompt__key="business_goal").value == "First idea"
    latest = doc.revisions.first()
    assert latest.reason.startswith("Restored")
    assert latest.snapshot["answers"]["business_goal"] == "First idea"
    assert doc.revisions.filter(snapshot__answers__business_goal="Second idea").exists()


def test_history_of_a_revision_of_another_doc_is_404(signed_in, doc, alice):
    other = DesignDoc.objects.create(owner=alice, title="Other")
    revision = other.record_revision("x")
    assert (
        signed_in.get(f"/docs/{doc.pk}/history/", {"a": revision.pk, "b": revision.pk}).status_code
        == 404
    )
    assert signed_in.post(f"/docs/{doc.pk}/history/{revision.pk}/restore/").status_code == 404


# --- Trash, duplicate, rename, export ---------------------------------------------------------


def test_the_list_and_the_trash_say_how_long_ago_in_words(signed_in, doc):
    assert ">just now</time>" in signed_in.get("/docs/").text
    DesignDoc.objects.filter(pk=doc.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert ">5\xa0minutes ago</time>" in signed_in.get("/docs/").text  # as timesince spaces it
    doc.move_to_trash()
    assert "deleted <time" in (trash := signed_in.get("/docs/trash/").text)
    assert ">just now</time>" in trash and "0\xa0minutes" not in trash


def test_trash_and_restore(signed_in, doc):
    assert signed_in.post(f"/docs/{doc.pk}/delete/").status_code == 302
    assert signed_in.get(f"/docs/{doc.pk}/").status_code == 404
    assert f'href="/docs/{doc.pk}/"' not in signed_in.get("/docs/").text
    assert doc.title in signed_in.get("/docs/trash/").text
    assert signed_in.post(f"/docs/{doc.pk}/restore/").status_code == 302
    assert signed_in.get(f"/docs/{doc.pk}/").status_code == 200


def test_only_the_owner_is_told_at_its_address_that_a_doc_is_in_the_trash(signed_in, doc, bob):
    from apps.designdocs.models import DocReviewer

    DocReviewer.objects.create(doc=doc, user=bob)
    doc.move_to_trash()
    response = signed_in.get(f"/docs/{doc.pk}/")
    assert response.status_code == 404, "the doc is not there, whatever the page says"
    html = response.content.decode()
    assert "<h1>“Fraud detection” is in the trash</h1>" in html
    assert f'<form method="post" action="/docs/{doc.pk}/restore/"' in html
    assert 'href="/docs/trash/">Go to the trash</a>' in html
    restored = signed_in.post(f"/docs/{doc.pk}/restore/", follow=True)
    assert restored.status_code == 200 and "Restored “Fraud detection”." in restored.text
    doc.refresh_from_db()
    assert doc.deleted_at is None

    doc.move_to_trash()
    stranger = Client()
    stranger.force_login(bob)  # invited to review it, even: not theirs to restore
    for url in (f"/docs/{doc.pk}/", f"/docs/{doc.pk + 1000}/"):
        response = stranger.get(url)
        assert response.status_code == 404 and "Fraud detection" not in response.text, url
        assert "in the trash" not in response.text, url
    signed_out = Client().get(f"/docs/{doc.pk}/")
    assert signed_out.status_code == 302 and signed_out.url.startswith("/accounts/login/")
    assert signed_in.post(f"/docs/{doc.pk}/").status_code == 404


def test_every_address_of_a_trashed_doc_tells_its_owner_and_only_them(signed_in, doc, bob):
    """The wizard's steps, the history, the export… each say where the doc went, not a bare
    404; an autosave from a tab left open on it gets the reason as JSON, which the page shows
    beside the text it keeps. Anyone else still learns nothing."""
    step = Step.objects.order_by("order").first()
    pages = [
        f"/docs/{doc.pk}/steps/{step.slug}/",
        f"/docs/{doc.pk}/history/",
        f"/docs/{doc.pk}/export.md",
        f"/docs/{doc.pk}/share/",
    ]
    doc.move_to_trash()
    for url in pages:
        response = signed_in.get(url)
        assert response.status_code == 404, url
        assert "<h1>“Fraud detection” is in the trash</h1>" in response.text, url
        assert f'action="/docs/{doc.pk}/restore/"' in response.text, url
    saved = autosave(signed_in, doc, "business_goal", "Typed in a tab left open", 0)
    assert saved.status_code == 404 and saved["Content-Type"] == "application/json"
    assert saved.json() == {
        "error": "“Fraud detection” is in the trash: restore it to go on with it.",
        "trashed": True,
    }
    assert not doc.answers.exists(), "nothing is written to a doc in the trash"

    stranger = Client()
    stranger.force_login(bob)
    for response in [stranger.get(url) for url in pages] + [
        autosave(stranger, doc, "business_goal", "x", 0)
    ]:
        assert response.status_code == 404
        assert "Fraud detection" not in response.text and "trash" not in response.text

    signed_in.post(f"/docs/{doc.pk}/restore/")
    assert signed_in.get(pages[0]).status_code == 200
    assert (
        autosave(signed_in, doc, "business_goal", "Typed in a tab left open", 0).status_code == 200
    )


def test_trash_keeps_docs_for_30_days_then_purges(signed_in, doc):
    doc.move_to_trash()
    DesignDoc.objects.filter(pk=doc.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    assert doc.title not in signed_in.get("/docs/trash/").text
    assert signed_in.post(f"/docs/{doc.pk}/restore/").status_code == 404
    call_command("purge_trash", verbosity=0)
    assert not DesignDoc.objects.filter(pk=doc.pk).exists()


def test_duplicate_and_rename(signed_in, doc):
    autosave(signed_in, doc, "business_goal", "Goal text", 0)
    signed_in.post(f"/docs/{doc.pk}/duplicate/")
    copy = DesignDoc.objects.get(title="Copy of Fraud detection")
    assert copy.answers.get(prompt__key="business_goal").value == "Goal text"
    signed_in.post(f"/docs/{doc.pk}/rename/", {"title": "Card fraud", "problem": "New."})
    doc.refresh_from_db()
    assert (doc.title, doc.problem) == ("Card fraud", "New.")
    response = signed_in.post(f"/docs/{doc.pk}/rename/", {"title": "", "problem": "kept"})
    assert response.status_code == 400 and "kept" in response.text


def test_two_tabs_renaming_show_a_conflict_instead_of_overwriting(signed_in, doc):
    url = f"/docs/{doc.pk}/rename/"
    page = signed_in.get(f"/docs/{doc.pk}/").text
    version = re.search(r'<input type="hidden" name="version" value="(\w+)"', page).group(1)
    tab_a = {"title": "Card fraud", "problem": "From tab A.", "version": version}
    assert signed_in.post(url, tab_a).status_code == 302
    tab_b = {"title": "Payment fraud", "problem": "From tab B.", "version": version}
    response = signed_in.post(url, tab_b)
    assert response.status_code == 409
    assert "changed in another tab or window" in response.text
    doc.refresh_from_db()
    assert (doc.title, doc.problem) == ("Card fraud", "From tab A."), "nothing overwritten"
    assert 'value="Payment fraud"' in response.text and "From tab B.</textarea>" in response.text
    assert ">Card fraud</pre>" in response.text and ">From tab A.</pre>" in response.text
    kept = doc.revisions.first()
    assert (kept.snapshot["title"], kept.snapshot["problem"]) == ("Payment fraud", "From tab B.")
    keep = re.search(r'name="keep" value="(\w+)"', response.text).group(1)
    assert signed_in.post(url, tab_b | {"keep": keep}).status_code == 302, "Keep my text"
    doc.refresh_from_db()
    assert (doc.title, doc.problem) == ("Payment fraud", "From tab B.")


def test_answers_saved_meanwhile_are_no_conflict_for_a_rename(signed_in, doc):
    version = doc.text_version
    autosave(signed_in, doc, "business_goal", "Saved in another tab", 0)
    response = signed_in.post(
        f"/docs/{doc.pk}/rename/", {"title": "Renamed", "problem": "", "version": version}
    )
    assert response.status_code == 302
    doc.refresh_from_db()
    assert doc.title == "Renamed"


def test_a_copy_of_a_doc_with_the_longest_title_allowed_keeps_within_it(signed_in, doc):
    DesignDoc.objects.filter(pk=doc.pk).update(title="Fraud " * 33 + "ab")  # 200 characters
    assert signed_in.post(f"/docs/{doc.pk}/duplicate/").status_code == 302
    copy = DesignDoc.objects.exclude(pk=doc.pk).get(owner=doc.owner)
    assert len(copy.title) == 200 and copy.title.startswith("Copy of Fraud")
    assert copy.title.endswith("…")


def test_a_tab_name_with_a_nul_in_it_still_saves(signed_in, doc):
    response = signed_in.post(
        f"/docs/{doc.pk}/answers/business_goal/",
        {"business_goal": "Goal text", "version_business_goal": 0, "tab": "a\x00b", "seq": 1},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert doc.answers.get(prompt__key="business_goal").value == "Goal text"


def test_export_contains_every_answer(signed_in):
    example = DesignDoc.objects.examples().first()
    signed_in.post(f"/docs/examples/{example.slug}/copy/")
    doc = DesignDoc.objects.active().get(title=example.title)
    response = signed_in.get(f"/docs/{doc.pk}/export.md")
    assert response["Content-Type"].startswith("text/markdown")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    for step in Step.objects.filter(optional=False):
        assert f"## {step.order}. {step.title}" in text
    assert "Beyond the template" not in text, "optional sections nobody wrote are left out"
    for answer in doc.answers.select_related("prompt"):
        assert answer.prompt.question in text
        if answer.prompt.kind in {"markdown", "text", "number"}:
            assert answer.value.strip().splitlines()[0] in text, answer.prompt.key
    assert "_Not answered yet._" not in text


def test_examples_are_complete_and_copyable(client, alice):
    examples = list(DesignDoc.objects.examples())
    assert len(examples) >= 2
    for example in examples:
        assert client.get(f"/docs/examples/{example.slug}/").status_code == 200
        answers = example.answers_by_key()
        steps = list(Step.objects.prefetch_related("prompts"))
        for item in example.progress(steps, answers):
            if not item.step.optional:
                assert item.missing == [], (example.slug, [p.key for p in item.missing])
        assert all(not a.error for a in answers.values()), [a.error for a in answers.values()]
    assert client.post(f"/docs/examples/{examples[0].slug}/copy/").status_code == 302
    client.force_login(alice)
    client.post(f"/docs/examples/{examples[0].slug}/copy/")
    assert alice.design_docs.get().answers.count() == examples[0].answers.count()


# --- Completeness ------------------------------------------------------------------------------


def test_completeness_counts_valid_answers_by_step(signed_in, doc):
    autosave(signed_in, doc, "business_goal", "Goal", 0)
    autosave(signed_in, doc, "peak_qps", "500 QPS", 0)
    autosave(signed_in, doc, "latency_budget", "fast", 0)  # invalid: not counted
    autosave(signed_in, doc, "loss", "Cross-entropy", 0)
    total = Prompt.objects.counted().count()
    step1 = Step.objects.get(order=1).prompts.count()
    listing = signed_in.get("/docs/").text
    assert f"3 of {total} answered" in listing
    view = signed_in.get(f"/docs/{doc.pk}/").text
    assert f"2/{step1}" in view and f"3 of {total} prompts answered" in view
    assert (
        "Still missing" in view
        and "Peak queries per second" not in view.split("Still missing")[1].split("</details>")[0]
    )


# --- Privacy and methods -------------------------------------------------------------------------


def doc_urls(doc, revision):
    read = [
        f"/docs/{doc.pk}/", f"/docs/{doc.pk}/export.md", f"/docs/{doc.pk}/history/",
        f"/docs/{doc.pk}/steps/problem-clarification/", f"/docs/{doc.pk}/pickers/offline_metrics/",
        f"/docs/{doc.pk}/history/{revision.pk}/restore/",
        f"/docs/{doc.pk}/history/answers/business_goal/",
    ]  # fmt: skip
    write = [
        f"/docs/{doc.pk}/rename/", f"/docs/{doc.pk}/duplicate/", f"/docs/{doc.pk}/delete/",
        f"/docs/{doc.pk}/restore/", f"/docs/{doc.pk}/delete-forever/",
        f"/docs/{doc.pk}/answers/business_goal/",
    ]  # fmt: skip
    return read, write


def test_a_stranger_gets_404_on_every_doc_url_for_every_method(client, doc, bob):
    revision = doc.record_revision("x")
    read, write = doc_urls(doc, revision)
    client.force_login(bob)
    for url in read + write + [f"/docs/{doc.pk}/steps/problem-clarification/"]:
        assert client.get(url).status_code == 404, f"GET {url}"
        assert client.post(url, {"business_goal": "x", "title": "x"}).status_code == 404, url
    doc.refresh_from_db()
    assert doc.title == "Fraud detection" and doc.deleted_at is None
    assert not doc.answers.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, doc):
    revision = doc.record_revision("x")
    read, write = doc_urls(doc, revision)
    for url in ["/docs/new/", "/docs/trash/", *read, *write]:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response.url.startswith("/accounts/login/?next="), url


def test_get_on_every_mutating_url_is_405(signed_in, doc):
    revision = doc.record_revision("x")
    _, write = doc_urls(doc, revision)
    for url in write:
        if url.endswith(("/restore/", "/delete-forever/")):
            continue  # these need a trashed doc; checked below
        assert signed_in.get(url).status_code == 405, url
    doc.move_to_trash()
    assert signed_in.get(f"/docs/{doc.pk}/restore/").status_code == 405
    assert signed_in.get(f"/docs/{doc.pk}/delete-forever/").status_code == 405
    assert signed_in.get("/docs/examples/video-recommendations/copy/").status_code == 405


# --- Query counts ------------------------------------------------------------------------------


def _queries(client, url):
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200, url
    return len(context.captured_queries)


def _fill(doc, n_prompts):
    for prompt in Prompt.objects.all()[:n_prompts]:
        Answer.objects.update_or_create(doc=doc, prompt=prompt, defaults={"value": "text"})


def test_query_counts_are_pinned_and_flat_as_docs_and_answers_grow(
    signed_in, doc, alice, same_minute
):
    urls = ["/docs/", f"/docs/{doc.pk}/", f"/docs/{doc.pk}/steps/problem-clarification/",
            f"/docs/{doc.pk}/steps/model-and-metric-selection/"]  # fmt: skip
    _fill(doc, 3)
    for url in urls:  # the template (per content version), the header's due-card count
        signed_in.get(url)

    def measure():
        doc.save()  # a new state of the doc: what was stored of its pages is out of date
        rendered = {url: _queries(signed_in, url) for url in urls}
        return rendered, {url: _queries(signed_in, url) for url in urls}

    rendered, stored = measure()
    # The session comes from the cache and the template from memory (per content version):
    # the user, then only the writer's own data. The list and the steps are stored rendered per
    # state of what they show (test_fragments.py). The list reads that state with the user, in
    # one statement; to render, also its page of docs and their count, the trash count, docs
    # shared with them and the worked examples. A step reads the doc with its state, and the
    # user, in one statement too; to render, also whether it is an interview's and its answers
    # (step 4's metric picker also the metrics it offers); stored, nothing more. The document:
    # the user, the doc, its answers, diagrams and comments.
    assert rendered == {urls[0]: 6, urls[1]: 5, urls[2]: 3, urls[3]: 6}, rendered
    assert stored == {urls[0]: 1, urls[1]: 5, urls[2]: 1, urls[3]: 1}, stored
    _fill(doc, 40)
    for n in range(20):
        DesignDoc.objects.create(owner=alice, title=f"Doc {n}")
    assert measure() == (rendered, stored)


def test_doc_list_pages_through_many_docs(signed_in, alice):
    for n in range(30):
        DesignDoc.objects.create(owner=alice, title=f"Numbered doc {n:02d}")
    first = signed_in.get("/docs/").text
    assert "Page 1 of 2" in first and first.count('">Numbered doc') == 25
    second = signed_in.get("/docs/", {"page": "2"}).text
    assert second.count('">Numbered doc') == 5
    assert signed_in.get("/docs/", {"page": "nonsense"}).status_code == 200


def test_generated_scale_data_fills_every_column_the_table_requires():
    # The benchmark's data: COPY on PostgreSQL writes only the columns it names.
    before = Answer.objects.count()
    call_command("generate_docs", "--users", "2", "--docs", "4", "--answered", "0.9",
                 "--texts", "5", "--trashed", "0", stdout=io.StringIO())  # fmt: skip
    made = Answer.objects.count() - before
    assert made > 0
    assert not Answer.objects.filter(saved_by__isnull=True).exists()
    assert Revision.objects.filter(reason="Created", tab="").count() >= 4


def test_a_doc_id_no_row_can_have_is_a_404_not_a_500(signed_in):
    for pk in (2**63, 10**30):
        assert signed_in.get(f"/docs/{pk}/steps/problem-clarification/").status_code == 404
        saved = signed_in.post(
            f"/docs/{pk}/answers/business_goal/",
            {"business_goal": "text", "version_business_goal": 0},
            headers={"HX-Request": "true"},
        )
        assert saved.status_code == 404
