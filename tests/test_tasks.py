"""Autosave leaves rendering, snapshots and the search index to the task worker.

These tests run the real database backend (django-tasks-db) and its worker; the rest of the
suite runs tasks at once (tests/environment.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from apps.core import caching
from apps.designdocs.models import Answer, DesignDoc, Prompt
from apps.metrics.models import Metric
from apps.search.query import search

pytestmark = pytest.mark.django_db

KEY = "business_goal"  # a Markdown prompt of step 1
CONTROL = re.compile(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)\b", re.IGNORECASE)


@pytest.fixture
def doc(alice):
    return DesignDoc.objects.create(owner=alice, title="Fraud", problem="Stop fraud.")


@pytest.fixture
def writer(client, alice):
    client.force_login(alice)
    return client


def save(client, doc, value, version, key=KEY):
    response = client.post(
        f"/docs/{doc.pk}/answers/{key}/",
        {key: value, f"version_{key}": version},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    return int(re.search(rf'id="version-{key}" value="(\d+)"', response.text).group(1))


def refresh_tasks():
    return DBTaskResult.objects.filter(task_path="apps.designdocs.tasks.refresh_doc")


@pytest.fixture
def run_worker(monkeypatch):
    """``manage.py worker --batch`` inside the test's transaction. The worker closes "old"
    connections between tasks, which inside a test transaction is every connection; Django's
    test client skips the same clean-up around requests."""
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    return lambda *more: call_command("worker", "--batch", "--interval", "0", *more)


def test_an_autosave_is_one_conditional_update_and_at_most_six_queries(database_tasks, writer, doc):
    version = save(writer, doc, "First words", 0)  # creates the answer: the careful path
    writer.get(f"/docs/{doc.pk}/steps/problem-clarification/")  # session and template cached
    for text in ("First words, then more", "First words, then more and more"):
        with CaptureQueriesContext(connection) as captured:
            version = save(writer, doc, text, version)
        work = [q["sql"] for q in captured.captured_queries if not CONTROL.match(q["sql"])]
        # The user, the doc, the conditional UPDATE, the doc's mark (and the task or its
        # time), the step's answers for the sidebar count.
        assert len(work) <= 6, "\n".join(work)
        updates = [sql for sql in work if sql.startswith('UPDATE "designdocs_answer"')]
        assert len(updates) == 1 and '"version" = ' in updates[0]
        assert not any(sql.startswith('SELECT "designdocs_answer"') and "FOR UPDATE" in sql
                       for sql in work)  # fmt: skip
    answer = Answer.objects.get(doc=doc, prompt__key=KEY)
    assert answer.value == "First words, then more and more" and answer.version == version
    assert answer.value_html == ""  # Markdown is rendered by the task, not in the request


def test_a_burst_of_saves_enqueues_one_refresh_and_the_worker_catches_the_index_up(
    database_tasks, writer, doc, alice, run_worker
):
    version = 0
    for n in range(6):
        version = save(writer, doc, f"Chargeback rate draft {n} with **zanzibarite**", version)
    assert refresh_tasks().count() == 1
    assert not search("zanzibarite", alice).hits  # not indexed yet: the worker has not run
    run_worker()
    assert [hit.entry.url for hit in search("zanzibarite", alice).hits] == [f"/docs/{doc.pk}/"]
    answer = Answer.objects.get(doc=doc, prompt__key=KEY)
    assert "<strong>zanzibarite</strong>" in answer.value_html
    assert doc.revisions.filter(reason="Autosave").count() == 1
    doc.refresh_from_db()
    assert not doc.refresh_pending and doc.refreshed_at >= doc.updated_at


def test_a_save_while_the_refresh_runs_enqueues_the_next_one(
    database_tasks, writer, doc, alice, run_worker
):
    version = save(writer, doc, "Text the first refresh reads", 0)
    from apps.designdocs.tasks import refresh_doc

    # The task claims the doc before reading it; a save after that must not be left behind.
    DesignDoc.objects.filter(pk=doc.pk).update(refresh_pending=False)
    save(writer, doc, "Text typed during the refresh: quokkas", version)
    assert refresh_tasks().count() == 2
    refresh_doc.call(doc.pk)
    run_worker()
    assert search("quokkas", alice).hits


def test_a_worker_killed_mid_task_loses_nothing(database_tasks, writer, doc, alice, run_worker):
    save(writer, doc, "Saved just before the worker died: pangolins", 0)
    # What kill -9 leaves: the task taken (marked running) and the doc claimed, nothing done.
    refresh_tasks().update(status="RUNNING")
    DesignDoc.objects.filter(pk=doc.pk).update(refresh_pending=False)
    run_worker()  # a new worker catches up before taking new work
    assert [hit.entry.url for hit in search("pangolins", alice).hits] == [f"/docs/{doc.pk}/"]
    # Before its claim, too: the doc stays pending, and the catch-up does not skip it.
    save(writer, doc, "Saved before the claim: axolotls", 1)
    refresh_tasks().filter(status="READY").update(status="RUNNING")
    run_worker()
    assert search("axolotls", alice).hits


def test_the_document_shows_an_answer_the_worker_has_not_rendered_yet(database_tasks, writer, doc):
    save(writer, doc, "Plain *emphasis* before the worker runs", 0)
    page = writer.get(f"/docs/{doc.pk}/").text
    assert "<em>emphasis</em>" in page


def test_a_prompt_edited_in_the_admin_reaches_the_wizard_at_once(writer, doc):
    prompt = Prompt.objects.get(key=KEY)
    url = f"/docs/{doc.pk}/steps/problem-clarification/"
    assert prompt.question in writer.get(url).text  # the template is now cached in memory
    prompt.question = "What business outcome moves, and by how much?"
    prompt.save()
    assert "What business outcome moves, and by how much?" in writer.get(url).text


def test_a_refresh_starting_between_a_saves_two_statements_still_gets_its_successor(
    database_tasks, writer, doc, alice, run_worker, monkeypatch
):
    """The race a fault run found: the task clears the mark just after this save saw it set.
    The save then touches the row only where the mark is still set, sees it gone, and queues
    the next refresh itself."""
    from django.db.models import QuerySet

    version = save(writer, doc, "First text", 0)
    original = QuerySet.update

    def update(self, **changes):
        done = original(self, **changes)
        if self.model is DesignDoc and changes.get("refresh_pending") is True and not done:
            # The worker's first statement lands here, between the save's two.
            original(DesignDoc.objects.filter(pk=doc.pk), refresh_pending=False)
        return done

    monkeypatch.setattr(QuerySet, "update", update)
    save(writer, doc, "Typed while the refresh started: narwhals", version)
    monkeypatch.setattr(QuerySet, "update", original)
    assert refresh_tasks().count() == 2
    run_worker()
    assert search("narwhals", alice).hits


def test_the_catch_up_leaves_docs_alone_that_no_save_has_touched_since(
    database_tasks, alice, run_worker
):
    # Created, renamed or generated docs are indexed as they are saved: a worker starting over
    # a hundred thousand of them must not queue a refresh for each.
    from apps.designdocs.tasks import catch_up

    quiet = [DesignDoc.objects.create(owner=alice, title=f"Quiet {n}") for n in range(3)]
    quiet[0].title = "Renamed"
    quiet[0].save()
    assert catch_up() == 0
    Answer.objects.create(doc=quiet[1], prompt=Prompt.objects.get(key=KEY), value="New words")
    assert catch_up() == 1  # an answer newer than the doc's last refresh
    run_worker()  # its refresh runs: the doc is no longer behind, at this start or the next
    assert catch_up() == 0


def test_a_save_stamped_before_a_refresh_but_committed_after_it_is_still_caught_up(
    database_tasks, writer, doc, alice, run_worker
):
    """What a fault run found under load: a save stamps its answer, the refresh starts and reads
    the answers before that save commits, and the save's own refresh dies with its worker.
    The answer looks older than the last refresh, yet no refresh ever read it."""
    from apps.designdocs.tasks import refresh_doc

    version = save(writer, doc, "The first text", 0)
    refresh_doc.call(doc.pk)
    refresh_tasks().delete()
    save(writer, doc, "Committed after the refresh read: quetzalcoatlus", version)
    refreshed = DesignDoc.objects.get(pk=doc.pk).refreshed_at
    Answer.objects.filter(doc=doc).update(updated_at=refreshed - timedelta(milliseconds=350))
    # Its refresh was taken by a worker that died after clearing the mark.
    refresh_tasks().update(status="RUNNING")
    DesignDoc.objects.filter(pk=doc.pk).update(refresh_pending=False)
    assert not search("quetzalcoatlus", alice).hits
    run_worker()
    assert [hit.entry.url for hit in search("quetzalcoatlus", alice).hits] == [f"/docs/{doc.pk}/"]


def test_a_save_during_rendering_never_gets_the_html_of_the_text_it_replaced(
    database_tasks, writer, doc, run_worker, monkeypatch
):
    """The refresh renders what it read; a save landing meanwhile keeps its own text's HTML."""
    from apps.designdocs.tasks import refresh_doc

    version = save(writer, doc, "The *old* plan", 0)
    render = Answer.render_value
    landed = []

    def render_then_save(answer):
        html = render(answer)
        if not landed:  # another tab's save commits between the read and the write
            landed.append(save(writer, doc, "The **new** plan", version))
        return html

    monkeypatch.setattr(Answer, "render_value", render_then_save)
    refresh_doc.call(doc.pk)
    monkeypatch.setattr(Answer, "render_value", render)
    run_worker()
    answer = Answer.objects.get(doc=doc, prompt__key=KEY)
    assert answer.value == "The **new** plan"
    assert "<strong>new</strong>" in answer.value_html and "old" not in answer.value_html


def test_a_starting_worker_prunes_finished_tasks_older_than_a_day(
    database_tasks, writer, doc, run_worker
):
    from django.utils import timezone

    save(writer, doc, "Some text", 0)
    run_worker()
    old = set(refresh_tasks().values_list("pk", flat=True))
    assert old and set(refresh_tasks().values_list("status", flat=True)) == {"SUCCESSFUL"}
    refresh_tasks().update(finished_at=timezone.now() - timedelta(days=2))
    save(writer, doc, "Some more text", 1)  # queued, not run yet
    run_worker()
    left = refresh_tasks()
    assert not left.filter(pk__in=old).exists()
    assert left.exists() and set(left.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_a_restarted_worker_closes_the_tasks_its_killed_self_left_running(
    database_tasks, writer, doc, alice, run_worker
):
    save(writer, doc, "Saved as the worker died: okapis", 0)
    # kill -9 mid-task: the row taken by this worker and left running. Another worker's stays.
    refresh_tasks().update(status="RUNNING", worker_ids=["worker-a"])
    other = DesignDoc.objects.create(owner=alice, title="Another doc")
    save(writer, other, "Saved on another doc", 0)
    refresh_tasks().filter(status="READY").update(status="RUNNING", worker_ids=["worker-b"])
    run_worker("--worker-id", "worker-a")
    statuses = sorted(refresh_tasks().values_list("worker_ids", "status"))
    assert statuses[0] == (["worker-a"], "FAILED")
    assert (["worker-b"], "RUNNING") in statuses
    assert search("okapis", alice).hits  # the work itself was re-enqueued and done


@pytest.mark.parametrize("change", ["trash", "rename"])
def test_a_trash_or_rename_while_the_refresh_runs_is_not_undone_in_search(
    change, writer, doc, alice, monkeypatch
):
    """The refresh read the doc before the owner trashed or renamed it; indexing what it read
    would put a trashed doc back in their search, or the old title over the new one."""
    from apps.designdocs import tasks
    from apps.designdocs.tasks import refresh_doc
    from apps.search.models import Entry

    save(writer, doc, "Plans for a narwhal census", 0)
    render = tasks.render_answers

    def render_then_change(read):
        mine = DesignDoc.objects.get(pk=read.pk)  # the owner's request, meanwhile
        if change == "trash":
            mine.move_to_trash()
        else:
            mine.title = "Narwhal census, second draft"
            mine.save()
        return render(read)

    monkeypatch.setattr(tasks, "render_answers", render_then_change)
    refresh_doc.call(doc.pk)
    entries = Entry.objects.filter(kind="doc", object_id=doc.pk)
    if change == "trash":
        assert not entries.exists() and not search("narwhal", alice).hits
    else:
        assert [entry.title for entry in entries] == ["Narwhal census, second draft"]


def test_an_edited_prompt_rechecks_and_relabels_the_answers_already_saved(
    writer, doc, django_capture_on_commit_callbacks
):
    """An editor relabels a choice, then drops one: docs show the new label, and an answer no
    longer among the choices is flagged and no longer counted as answered."""
    save(writer, doc, "trees", 0, key="model_family")
    prompt = Prompt.objects.get(key="model_family")
    with django_capture_on_commit_callbacks(execute=True):
        prompt.choices = [
            {"value": "linear", "label": "Linear or logistic model"},
            {"value": "trees", "label": "Boosted decision trees"},
        ]
        prompt.save()
    answer = Answer.objects.get(doc=doc, prompt=prompt)
    assert answer.value_html == "Boosted decision trees" and answer.error == ""
    page = writer.get(f"/docs/{doc.pk}/").content.decode()
    assert "Boosted decision trees" in page and "Gradient-boosted trees" not in page
    with django_capture_on_commit_callbacks(execute=True):
        prompt.choices = [{"value": "linear", "label": "Linear or logistic model"}]
        prompt.save()
    answer.refresh_from_db()
    assert answer.error == "Choose one of the options."
    assert not DesignDoc.objects.with_answered_count().get(pk=doc.pk).answered


def test_a_prompt_edit_that_leaves_its_rules_alone_rechecks_nothing(
    writer, doc, django_capture_on_commit_callbacks
):
    save(writer, doc, "trees", 0, key="model_family")
    prompt = Prompt.objects.get(key="model_family")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        prompt.question = "Which family of model first?"
        prompt.save()
    assert not [c for c in callbacks if c is not caching._bump]  # no recheck queued


def test_a_renamed_metric_stays_picked_under_its_new_slug_and_name(
    writer, doc, django_capture_on_commit_callbacks
):
    """Metric pickers keep the slugs picked: an editor's new slug for a metric must not drop it
    from anyone's answer (neither shown nor ticked), and its new name shows."""
    key = "offline_metrics"
    offered = Metric.objects.filter(family__slug__in=Prompt.objects.get(key=key).families)
    first, second = offered.order_by("slug")[:2]
    save(writer, doc, [first.slug, second.slug], 0, key=key)
    old = first.slug
    with django_capture_on_commit_callbacks(execute=True):
        first.slug, first.name = f"{old}-renamed", "A renamed metric"
        first.save()
    answer = Answer.objects.get(doc=doc, prompt__key=key)
    assert answer.values == [first.slug, second.slug]
    assert f'<a href="/metrics/{first.slug}/">A renamed metric</a>' in answer.value_html
    assert "A renamed metric" in writer.get(f"/docs/{doc.pk}/").content.decode()
    step = writer.get(f"/docs/{doc.pk}/steps/{answer.prompt.step.slug}/").content.decode()
    assert re.search(rf'value="{first.slug}" checked', step)
    with django_capture_on_commit_callbacks(execute=True):
        first.name = "Renamed again"  # the name alone
        first.save()
    answer.refresh_from_db()
    assert answer.values == [first.slug, second.slug] and "Renamed again" in answer.value_html


def test_a_retitled_page_shows_its_new_title_in_the_answers_that_link_it(
    writer, doc, django_capture_on_commit_callbacks
):
    from apps.concepts.models import Concept
    from apps.designdocs.tasks import refresh_doc

    save(writer, doc, "Events go through [[kafka]] first.", 0)
    refresh_doc.call(doc.pk)  # the answer rendered, as the task worker does after a save
    answer = Answer.objects.get(doc=doc, prompt__key=KEY)
    kafka = Concept.objects.get(slug="kafka")
    assert f">{kafka.title}</a>" in answer.value_html
    with django_capture_on_commit_callbacks(execute=True):
        kafka.title = "Apache Kafka, the log"
        kafka.save()
    answer.refresh_from_db()
    assert ">Apache Kafka, the log</a>" in answer.value_html
    assert "Apache Kafka, the log" in writer.get(f"/docs/{doc.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        kafka.title = "Apache Kafka, The Log"  # the same names to the glossary, a new title
        kafka.save()
    answer.refresh_from_db()
    assert ">Apache Kafka, The Log</a>" in answer.value_html
    with django_capture_on_commit_callbacks(execute=True):
        kafka.slug = "apache-kafka"  # a new address: the answer keeps the old one (it redirects)
        kafka.save()
    answer.refresh_from_db()
    assert 'href="/concepts/kafka/"' in answer.value_html
    assert writer.get("/concepts/kafka/").url == "/concepts/apache-kafka/"


def test_the_glossary_in_answers_follows_a_new_name_a_dropped_one_and_a_deleted_page(
    writer, doc, django_capture_on_commit_callbacks
):
    """Answers are rendered with the glossary, as pages are: an editor's new page or alias
    links the answers that mention it, and a dropped alias or a deleted page stops linking."""
    from apps.concepts.models import Concept, Level
    from apps.designdocs.tasks import refresh_doc

    save(writer, doc, "Reads stall behind numbat routing at peak.", 0)
    refresh_doc.call(doc.pk)
    answer = Answer.objects.get(doc=doc, prompt__key=KEY)
    link = 'href="/concepts/zz-numbat/"'
    assert link not in answer.value_html

    def edited(change) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            change()
        answer.refresh_from_db()
        return answer.value_html

    level = Level.objects.get(slug="technologies")
    page = Concept(slug="zz-numbat", title="Quokka sharding", aliases=["numbat routing"],
                   level=level, summary="s", body="A page.")  # fmt: skip
    assert link in edited(page.save)
    page.aliases = []
    assert link not in edited(page.save)
    page.aliases = ["Numbat routing"]
    assert link in edited(page.save)
    html = edited(page.delete)
    assert "zz-numbat" not in html and "numbat routing" in html
    assert "numbat routing" in writer.get(f"/docs/{doc.pk}/").content.decode()


def test_every_deploy_rechecks_answers_saved_under_an_older_check(writer, doc):
    """A latency of "10 ms/day" was once accepted (read back as a rate). The corrected check
    refuses it on save; an answer saved before the correction is flagged by the next deploy's
    load_content, and its pages show the flag at once, without its writer saving it again."""
    prompt = Prompt.objects.get(key="latency_budget")
    Answer.objects.create(doc=doc, prompt=prompt, value="10 ms/day", error="")  # the old check
    Answer.objects.create(doc=doc, prompt=Prompt.objects.get(key="peak_qps"), value="12k QPS")
    step = f"/docs/{doc.pk}/steps/{prompt.step.slug}/"
    assert "does not fit here" not in writer.get(step).text  # stored as the old check left it
    call_command("load_content", verbosity=0)
    flagged = Answer.objects.get(doc=doc, prompt=prompt)
    assert flagged.error == "“ms/day” does not fit here: this answer is not a rate per day; use ms."
    assert flagged.value == "10 ms/day", "kept as typed"
    assert Answer.objects.get(doc=doc, prompt__key="peak_qps").error == ""
    assert flagged.error in writer.get(step).text
    assert DesignDoc.objects.with_answered_count().get(pk=doc.pk).answered == 1, "QPS only"


def test_a_deploy_that_changes_no_answer_leaves_the_stored_pages_alone(writer, doc):
    save(writer, doc, "120 ms", 0, key="latency_budget")
    version = caching.content_version()
    from apps.designdocs.tasks import recheck_checked_answers

    assert recheck_checked_answers.call() == 0
    assert caching.content_version() == version


def test_a_deploy_with_a_new_renderer_renders_written_answers_again(writer, doc):
    from apps.core.models import Stamp

    save(writer, doc, "Cut **churn** by 2 %.", 0)
    answer = Answer.objects.get(doc=doc, prompt__key=KEY)
    right = answer.value_html
    assert "<strong>churn</strong>" in right
    Answer.objects.filter(pk=answer.pk).update(value_html="<p>as an older renderer made it</p>")
    call_command("load_content", verbosity=0)  # the same renderer: nothing to redo
    answer.refresh_from_db()
    assert answer.value_html == "<p>as an older renderer made it</p>"
    Stamp.write("renderer", "an older renderer")
    version = caching.content_version()
    call_command("load_content", verbosity=0)
    answer.refresh_from_db()
    assert answer.value_html == right and answer.value == "Cut **churn** by 2 %."
    assert caching.content_version() != version
