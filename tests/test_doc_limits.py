"""How many docs an account keeps (its trash included), every way a doc is started, and
deleting forever from the trash, which makes room again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.designdocs import models
from apps.designdocs.models import DesignDoc, Diagram, DocReviewer
from apps.practice.models import Attempt, Problem
from apps.reviews.models import Comment
from apps.search.models import Entry

pytestmark = pytest.mark.django_db

FULL = "the most one account can"


@pytest.fixture
def two_at_most(monkeypatch):
    monkeypatch.setattr(models, "DOCS_PER_ACCOUNT", 2)


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def _docs(alice) -> int:
    return DesignDoc.objects.filter(owner=alice).count()


def _fill(alice, n: int = 2) -> list[DesignDoc]:
    return [DesignDoc.objects.create(owner=alice, title=f"Doc {i}") for i in range(n)]


def test_a_full_account_is_told_at_the_form_and_keeps_what_it_typed(signed_in, alice, two_at_most):
    _fill(alice)
    response = signed_in.post("/docs/new/", {"title": "Spam filter", "problem": "Stop spam."})
    page = response.content.decode()
    assert response.status_code == 200 and FULL in page
    assert 'value="Spam filter"' in page and "Stop spam." in page
    assert _docs(alice) == 2


def test_copying_an_example_duplicating_and_interviews_are_refused_too(
    signed_in, alice, two_at_most
):
    first, _ = _fill(alice)
    response = signed_in.post("/docs/examples/video-recommendations/copy/", follow=True)
    assert FULL in response.content.decode()
    response = signed_in.post(f"/docs/{first.pk}/duplicate/", follow=True)
    assert FULL in response.content.decode()
    response = signed_in.post("/practice/problems/ads-click-prediction/start/", {"minutes": 45})
    assert response.status_code == 400 and FULL in response.content.decode()
    assert _docs(alice) == 2 and not Attempt.objects.filter(user=alice).exists()


def test_a_second_press_of_start_that_filled_the_account_goes_to_its_interview(
    signed_in, alice, two_at_most
):
    _fill(alice, 1)
    url = "/practice/problems/ads-click-prediction/start/"
    first = signed_in.post(url, {"minutes": 45})
    second = signed_in.post(url, {"minutes": 45})  # the account is full now, by the first
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert _docs(alice) == 2 and Attempt.objects.filter(user=alice).count() == 1


def test_the_trash_counts_until_it_expires(signed_in, alice, two_at_most):
    first, _ = _fill(alice)
    first.move_to_trash()
    assert DesignDoc.objects.full_for(alice)
    DesignDoc.objects.filter(pk=first.pk).update(
        deleted_at=timezone.now() - timedelta(days=models.TRASH_DAYS + 1)
    )
    assert not DesignDoc.objects.full_for(alice)  # gone from the trash: purged at the next run
    response = signed_in.post("/docs/new/", {"title": "Spam filter"})
    assert response.status_code == 302 and _docs(alice) == 3


def test_deleting_forever_from_the_trash_makes_room(signed_in, alice, two_at_most):
    first, _ = _fill(alice)
    first.move_to_trash()
    trash = signed_in.get("/docs/trash/").content.decode()
    assert f'action="/docs/{first.pk}/delete-forever/"' in trash
    response = signed_in.post(f"/docs/{first.pk}/delete-forever/", follow=True)
    assert "Deleted “Doc 0” forever." in response.content.decode()
    assert not DesignDoc.objects.filter(pk=first.pk).exists()
    assert not Entry.objects.filter(kind=Entry.Kind.DOC, url=first.get_absolute_url()).exists()
    assert signed_in.post("/docs/new/", {"title": "Spam filter"}).status_code == 302


def test_only_a_doc_in_ones_own_trash_can_be_deleted_forever(client, alice, bob):
    mine, theirs = DesignDoc.objects.create(owner=alice, title="Mine"), _fill(bob, 1)[0]
    theirs.move_to_trash()
    client.force_login(alice)
    assert client.post(f"/docs/{mine.pk}/delete-forever/").status_code == 404  # not in the trash
    assert client.post(f"/docs/{theirs.pk}/delete-forever/").status_code == 404
    assert DesignDoc.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2


def test_a_doc_with_everything_attached_is_deleted_forever_whole(client, alice, bob):
    """An interview's doc with its clock, history, a diagram, a reviewer and their comments."""
    attempt = Attempt.start(alice, Problem.objects.get(slug="ads-click-prediction"), 45)
    doc = attempt.doc
    Diagram.start(doc, "Serving", "client -> model")
    DocReviewer.objects.create(doc=doc, user=bob)
    reviewer = Client()
    reviewer.force_login(bob)
    assert reviewer.post(f"/docs/{doc.pk}/comments/", {"body": "Why half?"}).status_code < 400
    assert Comment.objects.filter(doc=doc).exists()
    doc.move_to_trash()
    client.force_login(alice)
    assert client.post(f"/docs/{doc.pk}/delete-forever/").status_code == 302
    assert not DesignDoc.objects.filter(pk=doc.pk).exists()
    assert not Attempt.objects.filter(pk=attempt.pk).exists()
    assert not Comment.objects.filter(doc_id=doc.pk).exists()
