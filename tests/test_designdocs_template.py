"""The template adapts: conditional prompts, optional sections, and what counts as answered."""

import pytest

from apps.core.content import ContentFileError
from apps.designdocs.content import StepKind
from apps.designdocs.models import DesignDoc, Prompt, Step

pytestmark = pytest.mark.django_db

TRAINING = "/steps/model-training/"


@pytest.fixture
def doc(alice):
    return DesignDoc.objects.create(owner=alice, title="Churn", problem="Who leaves next month?")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def answer(doc, key, value):
    prompt = Prompt.objects.get(key=key)
    version = doc.answers.filter(prompt=prompt).values_list("version", flat=True).first() or 0
    result = doc.save_answer(prompt, value, version)
    assert not result.conflict and not result.refused


def test_trees_are_asked_about_depth_and_shrinkage_not_activations(signed_in, doc):
    answer(doc, "model_family", "trees")
    page = signed_in.get(f"/docs/{doc.pk}{TRAINING}").text
    assert 'id="f-tree_ensemble"' in page and 'id="f-tree_feature_importance"' in page
    assert 'id="f-activation"' not in page and 'id="f-vanishing_gradients"' not in page
    assert 'id="f-optimizer"' not in page


def test_a_neural_network_is_asked_about_activations_and_not_trees(signed_in, doc):
    answer(doc, "model_family", "neural")
    page = signed_in.get(f"/docs/{doc.pk}{TRAINING}").text
    assert 'id="f-activation"' in page and 'id="f-vanishing_gradients"' in page
    assert 'id="f-tree_ensemble"' not in page


def test_a_reinforcement_learning_model_gets_reward_and_exploration_prompts(signed_in, doc):
    page = signed_in.get(f"/docs/{doc.pk}{TRAINING}").text
    assert 'id="f-rl_reward"' not in page
    answer(doc, "model_type", "rl")
    page = signed_in.get(f"/docs/{doc.pk}{TRAINING}").text
    assert 'id="f-rl_reward"' in page and 'id="f-rl_exploration"' in page


def test_a_hidden_prompt_keeps_its_answer_and_the_document_still_shows_it(signed_in, doc):
    answer(doc, "model_family", "neural")
    answer(doc, "activation", "GELU in the hidden layers")
    answer(doc, "model_family", "trees")
    page = signed_in.get(f"/docs/{doc.pk}{TRAINING}").text
    assert 'id="f-activation"' not in page
    assert "kept but no longer asked" in page
    view = signed_in.get(f"/docs/{doc.pk}/").text
    assert "GELU in the hidden layers" in view and "no longer asked for this model" in view
    export = signed_in.get(f"/docs/{doc.pk}/export.md").content.decode()
    assert "GELU in the hidden layers" in export
    assert doc.answers.get(prompt__key="activation").value == "GELU in the hidden layers"


def test_completeness_counts_only_the_prompts_asked_of_this_doc(doc):
    steps = list(Step.objects.prefetch_related("prompts"))
    training = next(p for p in doc.progress(steps, {}) if p.step.slug == "model-training")
    answer(doc, "model_family", "trees")
    after = next(
        p for p in doc.progress(steps, doc.answers_by_key()) if p.step.slug == "model-training"
    )
    # Trees drop optimizer, activation and vanishing gradients and add two tree prompts.
    assert after.total == training.total - 3 + 2


def test_optional_sections_never_make_a_doc_look_unfinished(signed_in, doc):
    view = signed_in.get(f"/docs/{doc.pk}/").text
    assert "Beyond the template" in view and "Optional: not written." in view
    answer(doc, "risks", "The click log loses events when the collector restarts.")
    view = signed_in.get(f"/docs/{doc.pk}/").text
    total = Prompt.objects.counted().count()
    assert f"0 of {total} prompts answered" in view


def test_a_malformed_condition_in_a_step_file_is_a_clear_error():
    prompt = {"key": "k", "question": "Q?", "condition": {"prompt": "model_type"}}
    data = {"slug": "x", "title": "X", "order": 9, "body": "b", "prompts": [prompt]}
    with pytest.raises(ContentFileError, match="condition"):
        StepKind().normalise(data)


def test_a_retired_prompt_is_not_asked(signed_in, doc):
    Prompt.objects.filter(key="corner_cases").update(retired=True)
    page = signed_in.get(f"/docs/{doc.pk}/steps/problem-clarification/").text
    assert 'id="f-corner_cases"' not in page
