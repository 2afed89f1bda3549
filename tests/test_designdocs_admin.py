"""Editors edit the design template and the worked examples in the admin."""

import pytest

from apps.designdocs.models import DesignDoc, Prompt, Step

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client, staff):
    client.force_login(staff)
    return client


def test_the_template_and_examples_are_in_the_admin_with_a_live_preview(editor):
    step = Step.objects.get(slug="model-training")
    prompt = Prompt.objects.get(key="loss")
    example = DesignDoc.objects.examples().first()
    for url in ["/admin/designdocs/", "/admin/designdocs/step/", "/admin/designdocs/prompt/",
                "/admin/designdocs/designdoc/", f"/admin/designdocs/step/{step.pk}/change/",
                f"/admin/designdocs/prompt/{prompt.pk}/change/",
                f"/admin/designdocs/designdoc/{example.pk}/change/"]:  # fmt: skip
        response = editor.get(url)
        assert response.status_code == 200, url
    change = editor.get(f"/admin/designdocs/prompt/{prompt.pk}/change/").text
    assert 'hx-post="/preview/markdown/"' in change and 'id="markdown-preview"' in change
    step_page = editor.get(f"/admin/designdocs/step/{step.pk}/change/").text
    assert "prompts-0-question" in step_page, "prompts are edited inline"


def test_the_admin_never_lists_users_documents(editor, alice):
    DesignDoc.objects.create(owner=alice, title="Alice's private plan")
    listing = editor.get("/admin/designdocs/designdoc/").text
    assert "Alice&#x27;s private plan" not in listing and "Alice's private plan" not in listing
    assert DesignDoc.objects.examples().first().title in listing


def test_the_preview_renders_a_prompts_help_as_the_wizard_shows_it(editor):
    response = editor.post("/preview/markdown/", {"prompts-0-help": "See [[latency]] **now**."})
    assert response.status_code == 200
    assert 'href="/concepts/latency/"' in response.text and "<strong>now</strong>" in response.text


def test_a_prompt_the_admin_adds_is_asked_in_the_wizard_and_answered(editor, client, alice):
    step = Step.objects.get(slug="evaluation")
    response = editor.post(
        "/admin/designdocs/prompt/add/",
        {"step": step.pk, "order": 999, "key": "carbon_budget",
         "question": "What is the carbon budget of training?", "kind": "number",
         "help": "Tonnes of CO₂e. See [[no-such-page]].", "units": '["t"]', "choices": "[]",
         "families": "[]", "condition": "{}"},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    assert "links to pages that do not exist: no-such-page" in response.text
    prompt = Prompt.objects.get(key="carbon_budget")
    editor.logout()
    client.force_login(alice)
    doc = DesignDoc.objects.create(owner=alice, title="Green model")
    page = client.get(f"/docs/{doc.pk}/steps/evaluation/").text
    assert "What is the carbon budget of training?" in page
    saved = client.post(
        f"/docs/{doc.pk}/answers/carbon_budget/",
        {"carbon_budget": "12 t", "version_carbon_budget": "0"},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    assert doc.answers.get(prompt=prompt).value == "12 t"


def test_rewording_a_prompt_keeps_its_answers(editor, alice):
    doc = DesignDoc.objects.create(owner=alice, title="Doc")
    prompt = Prompt.objects.get(key="business_goal")
    doc.save_answer(prompt, "Cut fraud losses", 0)
    Prompt.objects.filter(pk=prompt.pk).update(question="What should the business gain?")
    assert doc.answers_by_key()["business_goal"].value == "Cut fraud losses"


def test_a_prompt_with_answers_is_retired_not_deleted(editor, alice):
    doc = DesignDoc.objects.create(owner=alice, title="Doc")
    prompt = Prompt.objects.get(key="corner_cases")
    doc.save_answer(prompt, "Holidays", 0)
    change = editor.get(f"/admin/designdocs/prompt/{prompt.pk}/change/").text
    assert "/delete/" not in change, "no delete link for a prompt with answers"
    response = editor.post(f"/admin/designdocs/prompt/{prompt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Prompt.objects.filter(pk=prompt.pk).exists()
    unused = Prompt.objects.create(step=prompt.step, key="unused_probe", question="Unused?")
    editor.post(f"/admin/designdocs/prompt/{unused.pk}/delete/", {"post": "yes"})
    assert not Prompt.objects.filter(key="unused_probe").exists()
