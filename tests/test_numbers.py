"""Interview shorthand for numbers: checked, kept as typed, and shown as what it means."""

import time

import pytest

from apps.designdocs import numbers


@pytest.mark.parametrize(
    ("text", "units", "meaning"),
    [("35k QPS", ["QPS"], "35,000 QPS"), ("1.2M", [], "1,200,000"), ("3e6", [], "3,000,000"),
     ("10 GB/day", ["GB", "TB"], "10 GB per day"), ("2.5 tb per month", ["GB", "TB"],
     "2.5 TB per month"), ("12,000 QPS", ["QPS"], ""), ("1.5bn", [], "1,500,000,000"),
     ("40 ms", ["ms"], "")],
)  # fmt: skip
def test_shorthand_is_understood(text, units, meaning):
    assert numbers.check(text, units) == ""
    assert numbers.meaning(text, units) == meaning


@pytest.mark.parametrize(
    ("text", "units", "message"),
    [("lots", ["QPS"], "Enter a number followed by QPS"), ("-5 ms", ["ms"], "zero or a positive"),
     ("10 parsecs", ["ms"], "“parsecs” is not a unit here; use ms"),
     ("10 GB/fortnight", ["GB"], "is not a unit here"),
     ("1e309", [], "That number is too large to work with; write a smaller one."),
     ("1e308k QPS", ["QPS"], "too large")],
)  # fmt: skip
def test_bad_numbers_say_what_is_wrong(text, units, message):
    assert message in numbers.check(text, units)


def test_a_pathological_answer_is_checked_in_linear_time():
    started = time.perf_counter()
    assert numbers.check("1 x" + " " * 100_000 + "y", ["QPS"])
    assert numbers.check("1" * 100_000 + "k" + "/" * 50_000, ["QPS"])
    assert time.perf_counter() - started < 1.0


@pytest.mark.django_db
def test_the_step_page_and_autosave_show_what_the_shorthand_means(client, alice):
    from apps.designdocs.models import DesignDoc

    client.force_login(alice)
    doc = DesignDoc.objects.create(owner=alice, title="Feed")
    response = client.post(
        f"/docs/{doc.pk}/answers/peak_qps/",
        {"peak_qps": "35k QPS", "version_peak_qps": "0"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "= 35,000 QPS" in response.text
    assert doc.answers.get(prompt__key="peak_qps").value == "35k QPS", "kept as typed"
    page = client.get(f"/docs/{doc.pk}/steps/problem-clarification/").text
    assert "= 35,000 QPS" in page
