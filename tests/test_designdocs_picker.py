"""Step 4's metric picker recommends only what the writer's answers justify.

A classifier's lead metric depends on how imbalanced the classes are: accuracy is honest on
balanced classes and misleading on a rare positive class. Until the writer says which, the
picker must claim neither.
"""

import re

import pytest

from apps.designdocs.models import DesignDoc, Prompt

pytestmark = pytest.mark.django_db

STEP = "/steps/model-and-metric-selection/"


@pytest.fixture
def doc(alice):
    return DesignDoc.objects.create(owner=alice, title="Payments fraud", problem="Stop fraud.")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def answer(doc, key, value):
    result = doc.save_answer(Prompt.objects.get(key=key), value, 0)
    assert not result.conflict and not result.error


def offline_picker(client, doc) -> str:
    page = client.get(f"/docs/{doc.pk}{STEP}").text
    start = page.index('id="options-offline_metrics"')
    return page[start : page.index("</ul>", start)]


def recommended(picker: str) -> list[tuple[str, str]]:
    """(metric slug, reason) for each recommended option, in the order shown."""
    option = r'value="([a-z0-9-]+)"[^>]*>[^<]*</label>\s*'
    return re.findall(option + r'<span class="recommended">Recommended: ([^<]*)<', picker)


def test_an_unanswered_imbalance_claims_no_balance_and_puts_no_accuracy_first(signed_in, doc):
    answer(doc, "model_type", "binary")
    picker = offline_picker(signed_in, doc)
    picks = dict(recommended(picker))
    assert picks, "what holds whatever the balance is still recommended"
    assert "balanced" not in " ".join(picks.values()).replace("balanced or skewed", "")
    assert "accuracy" not in picks, "accuracy is honest only on balanced classes"
    assert "pr-auc" not in picks and "precision-at-recall" not in picks, "nor rare positives"
    assert "Classes are balanced" not in picker
    assert "Answer “How imbalanced are the classes?”" in picker


def test_balanced_classes_recommend_accuracy_first(signed_in, doc):
    answer(doc, "model_type", "binary")
    answer(doc, "class_imbalance", "balanced")
    picker = offline_picker(signed_in, doc)
    picks = recommended(picker)
    assert picks[0] == ("accuracy", "Classes are balanced, so accuracy is honest.")
    assert "How imbalanced are the classes?" not in picker


def test_severe_imbalance_recommends_pr_auc_and_never_accuracy(signed_in, doc):
    answer(doc, "model_type", "binary")
    answer(doc, "class_imbalance", "severe")
    picker = offline_picker(signed_in, doc)
    picks = dict(recommended(picker))
    assert "rare positive class" in picks["pr-auc"] and "precision-at-recall" in picks
    assert "accuracy" not in picks
    assert "Classes are balanced" not in picker


def test_a_multiclass_model_with_no_imbalance_answer_claims_none_either(signed_in, doc):
    answer(doc, "model_type", "multiclass")
    picks = dict(recommended(offline_picker(signed_in, doc)))
    assert "accuracy" not in picks and "Classes are balanced" not in " ".join(picks.values())
