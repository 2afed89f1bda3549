"""Work that autosave leaves to later, done by the task worker (``manage.py worker``).

A save marks its doc ``refresh_pending`` and enqueues :func:`refresh_doc` in the same
transaction, once per burst of saves: the task clears the mark first, so a save that lands
while it runs enqueues the next one. Everything the task does is idempotent, so running it
twice is harmless, and :func:`catch_up` (run when a worker starts) re-enqueues every doc changed
since its last refresh: a worker killed mid-task loses nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import DateTimeField, Q, Value
from django.db.models.functions import Greatest
from django.dispatch import Signal
from django.tasks import task
from django.utils import timezone

from apps.core import caching
from apps.designdocs.models import Answer, DesignDoc, Prompt, cheap_html

# Sent with the refreshed doc: listeners keep what they derive from it (search) up to date.
doc_refreshed = Signal()


@task()
def refresh_doc(doc_id: int) -> None:
    """Render the doc's new answers, keep the periodic snapshot, tell listeners."""
    started = timezone.now()
    DesignDoc.objects.filter(pk=doc_id, refresh_pending=True).update(refresh_pending=False)
    # Every change counted in doc.changes committed before this read, with its answer: the
    # reads below see them all. A change committed after it counts past what is recorded.
    doc = DesignDoc.objects.filter(pk=doc_id).first()
    if doc is None:  # deleted since: nothing to keep up to date
        return
    render_answers(doc)
    if doc.deleted_at is None and not doc.is_example:
        doc.record_revision("Autosave", unless_recent=True)
    doc_refreshed.send(sender=DesignDoc, doc=doc)
    # Never backwards, should two refreshes of the doc finish out of order.
    DesignDoc.objects.filter(pk=doc_id).update(
        refreshed_at=Greatest("refreshed_at", Value(started, DateTimeField())),
        refreshed_changes=Greatest("refreshed_changes", Value(doc.changes)),
    )


@task()
def recheck_answers(prompt_id: int, kind_changed: bool = False) -> int:
    """An editor changed a prompt's kind, choices or units: every answer to it is checked and
    shown anew (a relabelled choice, a unit no longer allowed). Only onto the text it checked:
    a save landing meanwhile checked its own. Returns how many answers changed."""
    prompt = Prompt.objects.filter(pk=prompt_id).first()
    if prompt is None:
        return 0
    changed = _recheck(prompt, kind_changed)
    caching.bump_content_version()  # stored pages show the answers and their counts
    return changed


@task()
def recheck_checked_answers() -> int:
    """Every number and choice answer checked by the code running now, queued by each
    ``load_content`` (every deploy runs it): a check corrected since an answer was saved (a
    latency "10 ms/day" was once taken as a rate) shows on that answer as a save would show it,
    not only once its writer saves it again. Stored pages are made anew only when an answer
    changed. Returns how many did."""
    checked = Prompt.objects.filter(kind__in=[Prompt.Kind.NUMBER, Prompt.Kind.CHOICE])
    changed = sum(_recheck(prompt) for prompt in checked.order_by("pk"))
    if changed:
        caching.bump_content_version()
    return changed


def _recheck(prompt: Prompt, kind_changed: bool = False) -> int:
    """Check and render again every answer to ``prompt``, writing only where that changes
    them, and only onto the version read."""
    changed = 0
    # A Markdown answer's HTML stays unless the kind changed; then "" has the page render it
    # on reading, and the doc's next refresh store it.
    keeps_html = prompt.kind == Prompt.Kind.MARKDOWN and not kind_changed
    answers = Answer.objects.filter(prompt=prompt).exclude(value="")
    for pk, value, version, error, html in answers.values_list(
        "pk", "value", "version", "error", "value_html"
    ).iterator(chunk_size=500):
        new_html = html if keeps_html else cheap_html(prompt, value)
        new_error = prompt.problem_with(value)
        if (new_error, new_html) != (error, html):
            current = Answer.objects.filter(pk=pk, version=version)
            changed += current.update(error=new_error, value_html=new_html)
    return changed


@task()
def follow_metric(old_slug: str, new_slug: str) -> int:
    """An editor renamed a metric (its slug, its name or both): every metric picker's answer
    that picked it keeps it, under its new slug, and shows its new name. (Picked by an old slug
    it would have dropped out of the answer: neither shown nor ticked.) Only onto the value it
    read, as :func:`recheck_answers`. Returns how many answers changed."""
    pickers = Answer.objects.filter(prompt__kind=Prompt.Kind.METRICS, value__contains=old_slug)
    changed = 0
    for answer in pickers.select_related("prompt").iterator(chunk_size=500):
        picked = answer.values
        if old_slug not in picked:  # a longer slug that contains it
            continue
        kept = dict.fromkeys(new_slug if slug == old_slug else slug for slug in picked)
        value, read = ",".join(kept), answer.value
        answer.value = value
        current = Answer.objects.filter(pk=answer.pk, version=answer.version, value=read)
        changed += current.update(value=value, value_html=answer.render_value())
    caching.bump_content_version()  # stored pages show the answers
    return changed


@task()
def rerender_answers_naming(names: list[str], urls: list[str]) -> int:
    """Render again the Markdown answers the glossary now links otherwise: those that mention
    one of ``names`` (a page's new title or alias: now linked) or link one of ``urls`` (a page
    deleted, retitled or no longer called that: a link that would now mislead, or show the old
    title). Returns how many answers changed."""
    mentions = Q()
    for name in names:
        mentions |= Q(value__icontains=name)
    for url in urls:
        mentions |= Q(value_html__contains=f'href="{url}')
    if not mentions:
        return 0
    markdown = Answer.objects.filter(prompt__kind=Prompt.Kind.MARKDOWN).filter(mentions)
    changed = _store_rendered(markdown)
    caching.bump_content_version()  # stored pages show the answers
    return changed


@task()
def rerender_all_answers() -> int:
    """Render every Markdown answer again (the renderer changed: a fix deployed, a library
    upgraded); only those whose HTML differs are written. Returns how many changed."""
    markdown = Answer.objects.filter(prompt__kind=Prompt.Kind.MARKDOWN).exclude(value="")
    changed = _store_rendered(markdown)
    if changed:
        caching.bump_content_version()  # stored pages show the answers
    return changed


def render_answers(doc: DesignDoc) -> int:
    """Store the HTML of answers saved since they were last rendered."""
    markdown = doc.answers.filter(prompt__kind=Prompt.Kind.MARKDOWN, value_html="")
    return _store_rendered(markdown.exclude(value=""))


def _store_rendered(answers) -> int:
    """Store each of ``answers``' HTML rendered anew where it differs, only onto the text it
    was rendered from: a save landing meanwhile (a new version, its HTML empty again) is left
    for the refresh that save queued. Returns how many answers changed."""
    stored = 0
    for answer in answers.select_related("prompt").iterator(chunk_size=200):
        html = answer.render_value()
        if html != answer.value_html:
            current = Answer.objects.filter(pk=answer.pk, version=answer.version)
            stored += current.update(value_html=html)
    return stored


def catch_up() -> int:
    """Enqueue a refresh for every doc changed since its last one (after a worker died)."""
    # Pending too: a task that died before its first statement left its doc pending.
    behind = DesignDoc.objects.behind()
    count = 0
    for doc_id in behind.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            DesignDoc.objects.filter(pk=doc_id).update(refresh_pending=True)
            refresh_doc.enqueue(doc_id)
        count += 1
    return count
