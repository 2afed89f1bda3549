"""History a writer can trust: snapshots on leaving, restore previewed, confirmed and undoable,
one answer through time; and the way in for signed-out readers."""

import pytest

from apps.designdocs.models import DesignDoc, Diagram, Prompt, Revision

pytestmark = pytest.mark.django_db


@pytest.fixture
def doc(alice):
    return DesignDoc.objects.create(owner=alice, title="Fraud", problem="Stop fraud.")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def save(doc, key, value):
    prompt = Prompt.objects.get(key=key)
    version = doc.answers.filter(prompt=prompt).values_list("version", flat=True).first() or 0
    assert not doc.save_answer(prompt, value, version).conflict


def test_restore_shows_what_would_change_and_needs_confirming(signed_in, doc):
    created = doc.record_revision("Created")
    save(doc, "business_goal", "Cut fraud losses by 30 percent")
    preview = signed_in.get(f"/docs/{doc.pk}/history/{created.pk}/restore/")
    assert preview.status_code == 200
    assert "Cut fraud losses by 30 percent" in preview.text and "Restore this text" in preview.text
    assert doc.answers.get(prompt__key="business_goal").value, "a GET changes nothing"
    unconfirmed = signed_in.post(f"/docs/{doc.pk}/history/{created.pk}/restore/")
    assert unconfirmed.status_code == 200, "a POST without confirm shows the preview again"
    assert doc.answers.get(prompt__key="business_goal").value


def test_a_restore_can_be_undone_at_once(signed_in, doc):
    created = doc.record_revision("Created")
    save(doc, "business_goal", "Typed after creating")
    response = signed_in.post(f"/docs/{doc.pk}/history/{created.pk}/restore/", {"confirm": "yes"})
    assert response.status_code == 302 and "?undo=" in response.url
    assert doc.answers.get(prompt__key="business_goal").value == ""
    page = signed_in.get(response.url)
    assert "Undo the restore" in page.text
    # The message, the new revision and the table all name the moment the same way.
    assert created.moment == f"{created.created_at:%-d %b %Y, %H:%M:%S}"
    assert f"Restored the text of {created.moment}." in page.text
    assert f"Restored the revision of {created.moment}" in page.text
    assert f">{created.moment}</time>" in page.text
    before = Revision.objects.get(pk=response.url.split("undo=")[1])
    signed_in.post(f"/docs/{doc.pk}/history/{before.pk}/restore/", {"confirm": "yes"})
    assert doc.answers.get(prompt__key="business_goal").value == "Typed after creating"


def test_a_restore_brings_back_the_diagrams_as_they_were_and_can_be_undone(signed_in, doc):
    serving = Diagram.start(doc, "Serving path", "client -> ranker")
    offline = Diagram.start(doc, "Offline", "logs -> training")
    created = doc.record_revision("Created")
    serving.save_source("client -> ranker -> cache", serving.version)
    Diagram.objects.filter(pk=serving.pk).update(title="Online path")
    offline_pk = offline.pk
    offline.delete()
    Diagram.start(doc, "Later", "a -> b")
    before = sorted(doc.diagrams.values_list("pk", "title", "source"))

    preview = signed_in.get(f"/docs/{doc.pk}/history/{created.pk}/restore/")
    assert "Diagram: Online path → Serving path" in preview.text and "cache" in preview.text
    assert "Diagram: Offline (added)" in preview.text, "a deleted diagram comes back"
    assert "Diagram: Later (deleted)" in preview.text, "the restore says what it removes"
    response = signed_in.post(f"/docs/{doc.pk}/history/{created.pk}/restore/", {"confirm": "yes"})
    assert response.status_code == 302
    restored = {d.pk: d for d in doc.diagrams.all()}
    assert sorted((pk, d.title, d.source) for pk, d in restored.items()) == [
        (serving.pk, "Serving path", "client -> ranker"),
        (offline_pk, "Offline", "logs -> training"),
    ]
    assert "cache" not in restored[serving.pk].svg and ">training<" in restored[offline_pk].svg
    assert restored[serving.pk].version > serving.version, (
        "an editor open on the old text conflicts"
    )
    assert doc.revisions.first().snapshot["diagrams"] == created.snapshot["diagrams"]

    undo = Revision.objects.get(pk=response.url.split("undo=")[1])
    signed_in.post(f"/docs/{doc.pk}/history/{undo.pk}/restore/", {"confirm": "yes"})
    assert sorted(doc.diagrams.values_list("pk", "title", "source")) == before


def test_leaving_a_step_by_any_means_keeps_a_snapshot_with_the_last_text(signed_in, doc):
    response = signed_in.post(
        f"/docs/{doc.pk}/steps/problem-clarification/",
        {"business_goal": "Sent as the page closed", "version_business_goal": "0",
         "go": "left", "tab": "T", "seq": "9"},
    )  # fmt: skip
    assert response.status_code == 204
    latest = doc.revisions.first()
    assert latest.reason.startswith("Left step 1")
    assert latest.snapshot["answers"]["business_goal"] == "Sent as the page closed"


def test_one_answers_versions_side_by_side(signed_in, doc):
    for text in ["Serve at 50 ms", "Serve at 80 ms", "Serve at 80 ms", "Serve at 80 ms p99"]:
        save(doc, "latency_budget", text)
        doc.record_revision("checkpoint")
    save(doc, "business_goal", "unrelated")
    doc.record_revision("other answer")
    page = signed_in.get(f"/docs/{doc.pk}/history/answers/latency_budget/")
    assert page.status_code == 200
    assert page.text.count('class="timeline-version"') == 3, "repeats collapse into one version"
    assert "<del>50</del><ins>80</ins>" in page.text
    latest = doc.revisions.filter(reason="checkpoint").first()  # newest first
    assert f">{latest.moment}</time>" in page.text, "a version's time as the history writes it"


def test_a_long_history_compares_only_the_versions_it_shows(signed_in, doc, monkeypatch):
    from apps.designdocs import diff, history

    for n in range(8):
        save(doc, "latency_budget", f"Serve at {n}0 ms")
        doc.record_revision("checkpoint")
        doc.record_revision("checkpoint, unchanged")
    compared = []
    monkeypatch.setattr(history, "REVISIONS_SHOWN", 3)
    monkeypatch.setattr(diff, "lines", lambda a, b, lines=diff.lines: compared.append(b)
                        or lines(a, b))  # fmt: skip
    page = signed_in.get(f"/docs/{doc.pk}/history/answers/latency_budget/")
    assert page.text.count('class="timeline-version"') == 3
    assert "<del>60</del><ins>70</ins>" in page.text
    assert "<del>30</del><ins>40</ins>" not in page.text
    assert "<del>40</del><ins>50</ins>" in page.text  # the oldest shown, against the one before
    assert len(compared) <= 4  # not all eight


def test_the_history_list_reads_no_snapshots(signed_in, doc, django_assert_max_num_queries):
    for n in range(30):
        save(doc, "business_goal", f"version {n} " + "x" * 5000)
        doc.record_revision(f"r{n}")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert signed_in.get(f"/docs/{doc.pk}/history/").status_code == 200
    listing = [q["sql"] for q in queries.captured_queries if "designdocs_revision" in q["sql"]]
    assert listing and all('"snapshot"' not in sql for sql in listing), listing


def test_signed_out_readers_see_what_design_docs_are(client):
    page = client.get("/docs/")
    assert page.status_code == 200
    assert "The template" in page.text and "Worked examples" in page.text
    assert "/accounts/signup/" in page.text
    assert 'href="/docs/template/problem-clarification/"' in page.text
    examples = client.get("/docs/examples/")
    assert examples.status_code == 200
    example = DesignDoc.objects.examples().first()
    assert f'href="/docs/examples/{example.slug}/"' in examples.text
    detail = client.get(f"/docs/examples/{example.slug}/").text
    assert 'href="/docs/examples/">Examples</a>' in detail, "breadcrumbs are links"


def test_the_sidebar_count_for_the_step_updates_as_an_answer_saves(signed_in, doc):
    response = signed_in.post(
        f"/docs/{doc.pk}/answers/business_goal/",
        {"business_goal": "Goal", "version_business_goal": "0"},
        headers={"HX-Request": "true"},
    )
    assert 'id="count-problem-clarification" hx-swap-oob="true">1/' in response.text
