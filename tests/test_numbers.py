"""Interview shorthand for numbers: checked, kept as typed, and shown as what it means."""

import time

import pytest

from apps.designdocs import numbers


@pytest.mark.parametrize(
    ("text", "units", "meaning"),
    [("35k QPS", ["QPS"], "35,000 QPS"), ("1.2M", [], "1,200,000"), ("3e6", [], "3,000,000"),
     ("10 GB/day", ["GB", "TB", "GB/day"], "10 GB per day"),
     ("2.5 tb per month", ["GB", "TB", "TB/month"], "2.5 TB per month"),
     ("10 gb/d", ["GB", "GB/day"], "10 GB per day"), ("12,000 QPS", ["QPS"], ""),
     ("1.5bn", [], "1,500,000,000"), ("40 ms", ["ms"], ""),
     ("1.2345678M", [], "1,234,567.8"), ("1.1k", [], "1,100"),
     ("1,234,567.5 QPS", ["QPS"], ""), ("-0", [], ""), ("10_000", [], "10,000")],
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
     ("1e308k QPS", ["QPS"], "too large"),
     ("1 PB/day", ["PB", "GB/day"], "“PB/day” is not a unit here; use PB, GB/day."),
     # A comma only groups thousands: "1,2,3" was read as 123, "1,5" as 15.
     ("1,2,3 QPS", ["QPS"], "A comma only separates thousands (“12,000”)"),
     ("1,5 ms", ["ms"], "for a decimal, write a point (“1.5”)"),
     ("12,00 QPS", ["QPS"], "A comma only separates thousands"),
     # Was: "“000 QPS” is not a unit here".
     ("12 000 QPS", ["QPS"], "Write the number without spaces inside it"),
     ("1 200", [], "Write the number without spaces inside it")],
)  # fmt: skip
def test_bad_numbers_say_what_is_wrong(text, units, message):
    assert message in numbers.check(text, units)


@pytest.mark.parametrize(
    ("text", "units"),
    [("10 ms/day", ["ms"]), ("10 QPS/day", ["QPS"]), ("10 MB/day", ["MB", "GB"]),
     ("10 QPS per hour", ["QPS"]), ("10/day", [])],
)  # fmt: skip
def test_a_rate_per_period_is_refused_where_the_units_allow_none(text, units):
    # A latency, a model's memory and queries per second are not amounts per day.
    unit = text.split(" ", 1)[1] if " " in text else text.removeprefix("10")
    message = numbers.check(text, units)
    assert message.startswith(f"“{unit.replace(' per ', '/')}” does not fit here")
    assert "is not a rate per" in message and numbers.meaning(text, units) == ""


@pytest.mark.parametrize(
    ("text", "meaning"),
    [("999999999999999999999999999 QPS", "1 × 10²⁷ QPS"), ("1e15 QPS", "1 × 10¹⁵ QPS"),
     ("12345678901234567890 QPS", "1.23457 × 10¹⁹ QPS"), ("2.5e-7 QPS", "2.5 × 10⁻⁷ QPS"),
     ("999,999,999,999,999 QPS", "")],
)  # fmt: skip
def test_a_huge_or_tiny_number_is_shown_in_powers_of_ten_without_invented_digits(text, meaning):
    # A float keeps about 16 significant digits: 1e27 written out digit by digit would show
    # "1,000,000,000,000,000,013,287,555,072", digits nobody typed.
    assert numbers.check(text, ["QPS"]) == ""
    assert numbers.meaning(text, ["QPS"]) == meaning


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


@pytest.mark.django_db
def test_only_a_quantity_that_can_be_per_day_suggests_and_accepts_it(client, alice):
    from apps.designdocs.models import Answer, DesignDoc

    client.force_login(alice)
    doc = DesignDoc.objects.create(owner=alice, title="Feed")
    page = client.get(f"/docs/{doc.pk}/steps/problem-clarification/").text
    assert "/day”" in page, "data written per day is a rate: its field suggests one"
    assert page.count("/day”") == 1, "nowhere else: not QPS, latency or memory"
    assert "“10 GB/day”" in page
    for key, value, shown in [("latency_budget", "10 ms/day", "ms/day"),
                              ("peak_qps", "10 QPS/day", "QPS/day"),
                              ("memory_constraint", "10 MB/day", "MB/day")]:  # fmt: skip
        response = client.post(
            f"/docs/{doc.pk}/answers/{key}/",
            {key: value, f"version_{key}": "0"},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        assert f"“{shown}” does not fit here" in response.text
        assert "= 10 " not in response.text, "no meaning shown for what does not fit"
        answer = Answer.objects.get(doc=doc, prompt__key=key)
        assert answer.value == value and "not a rate per day" in answer.error, "kept, explained"
    client.post(
        f"/docs/{doc.pk}/answers/data_size/",
        {"data_size": "10 GB/day", "version_data_size": "0"},
        headers={"HX-Request": "true"},
    )
    assert Answer.objects.get(doc=doc, prompt__key="data_size").error == ""
    page = client.get(f"/docs/{doc.pk}/steps/problem-clarification/").text
    assert "= 10 GB per day" in page and "does not fit here" in page
