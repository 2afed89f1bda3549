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


def test_trees_are_not_asked_about_layers_or_normalizing_activations(signed_in, doc):
    answer(doc, "model_family", "trees")
    page = signed_in.get(f"/docs/{doc.pk}{TRAINING}").text
    assert "Describe the architecture layer by layer." not in page
    assert "How will you normalize inputs and activations?" not in page
    assert 'id="f-architecture"' not in page and 'id="f-normalization"' not in page
    # Their tree counterparts instead: the ensemble end to end, and features with no scaling.
    assert 'id="f-tree_model"' in page and 'id="f-tree_inputs"' in page
    assert "trees need no normalization" in page
    assert 'id="f-linear_inputs"' not in page


def test_a_linear_model_is_asked_how_inputs_are_scaled_not_about_activations(signed_in, doc):
    answer(doc, "model_family", "linear")
    page = signed_in.get(f"/docs/{doc.pk}{TRAINING}").text
    assert 'id="f-linear_inputs"' in page and 'id="f-architecture"' in page  # its weights
    for key in ("normalization", "activation", "tree_model", "tree_inputs"):
        assert f'id="f-{key}"' not in page, key


@pytest.mark.parametrize("family", ["neural", ""])
def test_a_network_or_an_undecided_family_is_asked_about_layers_and_normalization(
    signed_in, doc, family
):
    if family:
        answer(doc, "model_family", family)
    page = signed_in.get(f"/docs/{doc.pk}{TRAINING}").text
    assert 'id="f-architecture"' in page and 'id="f-normalization"' in page
    for key in ("tree_model", "tree_inputs", "linear_inputs"):
        assert f'id="f-{key}"' not in page, key


def test_layer_and_normalization_answers_are_kept_and_shown_once_trees_are_chosen(signed_in, doc):
    answer(doc, "architecture", "Two towers of three ReLU layers, 64-wide embeddings.")
    answer(doc, "normalization", "Z-scores saved with the model; layer norm in each tower.")
    answer(doc, "model_family", "trees")
    page = signed_in.get(f"/docs/{doc.pk}{TRAINING}").text
    assert 'id="f-architecture"' not in page and 'id="f-normalization"' not in page
    assert "2 answers in this step are kept but no longer asked" in page
    assert "“Describe the architecture layer by layer.”" in page
    view = signed_in.get(f"/docs/{doc.pk}/").text
    for text in ("Two towers of three", "64-wide", "Z-scores saved with the model"):
        assert text in view  # (ReLU is linked to its glossary entry)
    assert view.count("(kept: no longer asked for this model)") == 2
    export = signed_in.get(f"/docs/{doc.pk}/export.md").content.decode()
    assert "### Describe the architecture layer by layer.\n\nTwo towers" in export
    assert "### How will you normalize inputs and activations?\n\nZ-scores" in export
    answers = dict(doc.answers.values_list("prompt__key", "value"))
    assert answers["architecture"].startswith("Two towers") and answers["normalization"]


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
    # Trees drop the architecture, optimizer, activation, normalization and vanishing
    # gradients, and add four tree prompts.
    assert after.total == training.total - 5 + 4


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
