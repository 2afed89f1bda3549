"""Back-of-the-envelope estimators: the arithmetic, the forms, the API, and the concept pages.

Every expected number below is worked by hand in the comment beside it (a month is 30 days, a
year 365.25 days, 1 KB = 1,000 bytes, as the handbook's pages count).
"""

from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest
from django.http import QueryDict
from django.template import Context, Template
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.concepts.models import Concept, Level
from apps.core.content import FIXTURES_DIR, read_file
from apps.core.markdown import render as render_markdown
from apps.estimates import computations as c
from apps.estimates import results
from apps.estimates.computations import ESTIMATES, EstimateError
from apps.estimates.forms import FORMS
from apps.metrics import quotas

pytestmark = pytest.mark.django_db

HOUR = 3600
DAY = 86_400

# --- Computations, against hand-worked values ------------------------------------------------


def test_nines_three_nines_is_8_77_hours_a_year_and_43_2_minutes_a_month():
    result = c.nines(availability=99.9, qps=100)
    assert result.downtime_per_year_s == pytest.approx(8.766 * HOUR)  # 0.001 * 8,766 h
    assert result.downtime_per_month_s == pytest.approx(43.2 * 60)  # 0.001 * 720 h
    assert result.downtime_per_week_s == pytest.approx(604.8)  # 0.001 * 604,800 s
    assert result.downtime_per_day_s == pytest.approx(86.4)  # 0.001 * 86,400 s
    assert result.requests_per_month == pytest.approx(259_200_000)  # 100 * 2,592,000 s
    assert result.error_budget_per_month == pytest.approx(259_200)  # 0.001 * 259.2 million
    assert result.error_budget_per_day == pytest.approx(8_640)  # 0.001 * 100 * 86,400


def test_nines_four_and_five_nines():
    assert c.nines(99.99, 0).downtime_per_year_s / 60 == pytest.approx(52.596)  # 1e-4 * 525,960
    assert c.nines(99.999, 0).downtime_per_month_s == pytest.approx(25.92)  # 1e-5 * 2,592,000
    assert c.nines(100, 1000).error_budget_per_month == 0


def test_series_multiplies_and_parallel_multiplies_the_failures():
    result = c.serial_parallel([99, 99])
    assert result.series_availability == pytest.approx(98.01)  # 0.99 * 0.99 = 0.9801
    assert result.parallel_availability == pytest.approx(99.99)  # 1 - 0.01² = 0.9999
    assert result.series_downtime_per_year_s / DAY == pytest.approx(7.268, abs=1e-3)  # 0.0199 d
    assert result.parallel_downtime_per_year_s / 60 == pytest.approx(52.596)  # 1e-4 * 525,960


def test_series_path_of_the_availability_page():
    # Load balancer 99.99%, model server 99.9%, feature store 99.95%: 0.9999 * 0.999 * 0.9995.
    result = c.serial_parallel([99.99, 99.9, 99.95])
    assert result.series_availability == pytest.approx(99.840065, abs=1e-6)
    assert result.series_downtime_per_year_s / HOUR == pytest.approx(14.02, abs=0.01)


def test_qps_from_ten_million_users_to_25_replicas():
    result = c.qps(dau=10**7, requests_per_user=20, peak_factor=3, replica_qps=400,
                   utilisation_pct=70)  # fmt: skip
    assert result.requests_per_day == 2 * 10**8
    assert result.average_qps == pytest.approx(2314.81, abs=0.01)  # 2e8 / 86,400
    assert result.peak_qps == pytest.approx(6944.44, abs=0.01)  # * 3
    assert result.usable_qps_per_replica == pytest.approx(280)  # 400 * 0.7
    assert result.replicas == 25  # 6,944.4 / 280 = 24.8, rounded up


def test_replicas_are_not_rounded_up_past_an_exact_fit():
    # 86,400 requests a day is exactly 1 QPS; one replica of 1 QPS at 100% carries it.
    assert c.qps(86_400, 1, 1, 1, 100).replicas == 1
    assert c.qps(86_400, 1, 1, 0.1, 100).replicas == 10  # 1 / 0.1 is 10.000000000000002


def test_storage_per_day_year_and_on_disk():
    result = c.storage(items_per_day=10**8, bytes_per_item=1000, retention_days=90, replication=3)
    assert result.bytes_per_day == 10**11  # 100 GB
    assert result.bytes_per_year == pytest.approx(36.525e12)  # * 365.25 days
    assert result.bytes_retained == 9 * 10**12  # 90 days: 9 TB
    assert result.bytes_on_disk == 27 * 10**12  # three copies: 27 TB


def test_bandwidth_in_bits_and_terabytes_a_month():
    result = c.bandwidth(qps=2000, response_kb=50)
    assert result.bytes_per_s == 10**8  # 2,000 * 50,000 B = 100 MB/s
    assert result.bits_per_s == 8 * 10**8  # 800 Mbit/s
    assert result.bytes_per_day == pytest.approx(8.64e12)  # * 86,400 s
    assert result.bytes_per_month == pytest.approx(259.2e12)  # * 2,592,000 s


def test_littles_law_solves_for_whichever_is_missing():
    assert c.littles_law(2000, 50, None).concurrency == pytest.approx(100)  # 2,000 * 0.05 s
    solved = c.littles_law(None, 50, 64)
    assert solved.arrival_rate == pytest.approx(1280) and solved.solved_for == "arrival_rate"
    assert c.littles_law(2000, None, 100).latency_ms == pytest.approx(50)  # 100 / 2,000 s


@pytest.mark.parametrize(
    "given, field",
    [((2000, None, None), "latency_ms"), ((2000, 50, 100), "concurrency")],
)
def test_littles_law_needs_exactly_two(given, field):
    with pytest.raises(EstimateError) as error:
        c.littles_law(*given)
    assert error.value.field == field
    assert "Leave exactly one of Arrival rate λ, Mean latency W and Concurrency L" in str(
        error.value
    )


def test_fan_out_makes_a_backends_p99_the_common_case():
    result = c.fan_out(percentile=99, fan_out=100)
    assert result.any_slow_pct == pytest.approx(63.40, abs=0.01)  # 1 - 0.99¹⁰⁰ = 0.6340
    assert result.none_slow_pct == pytest.approx(36.60, abs=0.01)
    assert result.expected_slow_calls == pytest.approx(1)  # 100 * 0.01
    assert c.fan_out(99, 10).any_slow_pct == pytest.approx(9.56, abs=0.01)  # 1 - 0.99¹⁰
    assert c.fan_out(100, 50).any_slow_pct == 0
    assert c.fan_out(0, 3).any_slow_pct == 100
    # Tiny p keeps its digits: 1 - (1 - 1e-9)² ~ 2e-9.
    assert c.fan_out(99.9999999, 2).any_slow_pct == pytest.approx(2e-7, rel=1e-6)


def test_kafka_partitions_take_the_slower_side_then_headroom():
    result = c.kafka_partitions(target_mb_s=50, producer_mb_s=10, consumer_mb_s=5, headroom=3)
    assert (result.for_producers, result.for_consumers) == (5, 10)  # 50/10, 50/5
    assert (result.partitions, result.with_headroom) == (10, 30)
    assert c.kafka_partitions(50, 4, 100, 1).partitions == 13  # 12.5 rounds up
    assert c.kafka_partitions(0.3, 0.1, 0.1, 1).partitions == 3  # not 4 from float noise


def test_cache_latency_is_the_hit_weighted_mean():
    result = c.cache_latency(hit_ratio_pct=90, hit_ms=0.5, miss_ms=10)
    assert result.mean_ms == pytest.approx(1.45)  # 0.9 * 0.5 + 0.1 * 10
    assert result.miss_time_pct == pytest.approx(100 / 1.45)  # 1.0 of 1.45 ms: 68.97%
    assert c.cache_latency(100, 0.5, 10).mean_ms == pytest.approx(0.5)


def test_token_bucket_on_a_burst_then_a_steady_stream():
    # Bucket of 20 refilled at 10/s. 50 at once: the 20 tokens admit 20. Then 20/s for 60 s:
    # 0.5 token between arrivals, so every second one passes, 600 in all. 620 = b + rT.
    result = c.token_bucket(rate=10, capacity=20, burst_requests=50, request_rate=20,
                            duration_s=60)  # fmt: skip
    assert (result.offered, result.allowed, result.rejected) == (1250, 620, 630)
    assert result.rejected_pct == pytest.approx(50.4)  # 630 / 1,250


def test_token_bucket_small_cases_by_hand():
    # A burst inside the bucket passes whole.
    assert c.token_bucket(10, 20, 15, 0, 0).allowed == 15
    # Slower than the refill rate: everything passes (5/s for 60 s against 10/s).
    assert c.token_bucket(10, 20, 0, 5, 60).rejected == 0
    # b = 5, r = 1: 10 at once admit 5; then 2/s for 10 s admit one a second, 10. 15 of 30.
    small = c.token_bucket(1, 5, 10, 2, 10)
    assert (small.allowed, small.offered) == (15, 30)
    # 0.1 token per arrival adds up exactly: once the burst has spent the one token, 100
    # arrivals at 10/s with r = 1 admit every tenth, 10 of them.
    assert c.token_bucket(1, 1, 1, 10, 10).allowed == 1 + 10


def _replay(rate, capacity, burst, request_rate, duration):
    """The rate-limiting page's allow(), step by step, in exact fractions."""
    rate, request_rate = Fraction(str(rate)), Fraction(str(request_rate))
    tokens, last, allowed = Fraction(capacity), Fraction(0), 0
    arrivals = [Fraction(0)] * burst + [
        i / request_rate for i in range(1, int(request_rate * Fraction(str(duration))) + 1)
    ]
    for now in arrivals:
        tokens = min(Fraction(capacity), tokens + (now - last) * rate)
        last = now
        if tokens >= 1:
            tokens -= 1
            allowed += 1
    return allowed


@pytest.mark.parametrize(
    "pattern",
    [(10, 20, 50, 20, 60), (0.3, 5, 0, 1000, 10), (7, 3, 2, 9.5, 30), (1, 1, 0, 1.5, 40),
     (2.5, 4, 9, 2.5, 12), (0, 3, 1, 4, 5)],
)  # fmt: skip
def test_token_bucket_agrees_with_the_pages_allow_function(pattern):
    assert c.token_bucket(*pattern).allowed == _replay(*pattern)


def test_token_bucket_refuses_more_requests_than_it_replays():
    with pytest.raises(EstimateError) as error:
        c.token_bucket(10, 20, 0, 1000, 3600)
    assert error.value.field == "duration_s" and "3,600,000 requests" in error.value.message


def test_every_estimate_checks_its_ranges_and_names_the_field():
    with pytest.raises(EstimateError) as error:
        ESTIMATES["nines"].run(availability=101, qps=100)
    assert error.value.field == "availability"
    assert error.value.message == "Availability (%) must be a number from 0 to 100%."
    with pytest.raises(EstimateError) as error:
        ESTIMATES["fan-out"].run(percentile=99, fan_out=2.5)
    assert "Calls per request must be a whole number from 1 to 1,000,000" in error.value.message


# --- How results read ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shown, expected",
    [
        (results.figure(2314.81), "2,315"),
        (results.figure(8.766), "8.77"),
        (results.figure(999.96), "1,000"),
        (results.figure(0.0123), "0.0123"),
        (results.figure(1.5e16), "1.5 × 10¹⁶"),
        (results.figure(3.2e-5), "3.2 × 10⁻⁵"),
        (results.duration(2592), "43.2 min"),
        (results.duration(31_557.6), "8.77 h"),
        (results.duration(627_996.24), "7.27 days"),
        (results.duration(86.4), "1.44 min"),
        (results.duration(25.92), "25.9 s"),
        (results.size(36.525e12), "36.5 TB"),
        (results.bit_rate(8e8), "800 Mbit/s"),
        (results.byte_rate(1e8), "100 MB/s"),
        (results.whole(259_199.99999998), "259,200"),
        (results.percent(63.3968), "63.4%"),
        (results.availability(99.7002999), "99.7%"),
        (results.availability(98.01), "98.01%"),
        (results.availability(99.9999999), "99.9999999%"),
        (results.availability(100.0), "100%"),
    ],
)
def test_numbers_read_with_separators_three_figures_and_units(shown, expected):
    assert shown == expected


# --- Forms: errors name the field as labelled ------------------------------------------------


def _too_big(quantity) -> str:
    return str(quantity.maximum * 10 + 1)


@pytest.mark.parametrize(
    "name, quantity",
    [(name, q) for name, estimate in ESTIMATES.items() for q in estimate.inputs],
    ids=lambda value: getattr(value, "name", value),
)
def test_an_out_of_range_value_is_refused_by_the_label_of_its_field(name, quantity):
    form = FORMS[name].from_query(QueryDict(f"{quantity.name}={_too_big(quantity)}"))
    assert form.result() is None
    assert quantity.labelled in " ".join(form.errors[quantity.name])


@pytest.mark.parametrize(
    "name, query, field, message",
    [
        ("nines", "qps=lots", "qps", "Traffic (requests/s) must be a number, such as 100."),
        ("nines", "availability=", "availability", "Enter Availability (%)."),
        ("qps", "dau=1.5", "dau", "Daily active users must be a whole number from 0 to"),
        ("serial-parallel", "availabilities=99, x", "availabilities",
         "Component availabilities (%): “x” is not a number"),
        ("serial-parallel", "availabilities=" + ",".join(["99"] * 11), "availabilities",
         "Component availabilities (%): give 1 to 10 values."),
        ("serial-parallel", "availabilities=" + "9" * 401, "availabilities",
         "Component availabilities (%): that is too long; give at most 10 numbers."),
        ("littles-law", "latency_ms=", "latency_ms", "Leave exactly one of Arrival rate λ"),
        ("token-bucket", "request_rate=1000&duration_s=3600", "duration_s",
         "Duration (s): the burst and the steady rate make 3,600,050 requests"),
    ],
)  # fmt: skip
def test_form_errors_say_what_is_wrong_at_the_field(name, query, field, message):
    form = FORMS[name].from_query(QueryDict(query))
    assert form.result() is None
    assert message in " ".join(form.errors[field])


def test_a_form_starts_from_the_defaults_and_takes_what_the_query_gives():
    form = FORMS["nines"].from_query(QueryDict("availability=99.99"))
    result = form.result()
    assert form.cleaned_data == {"availability": 99.99, "qps": 100}
    assert result.downtime_per_year_s == pytest.approx(3155.76)
    assert FORMS["littles-law"].from_query(None).result().concurrency == pytest.approx(100)


# --- The JSON API -------------------------------------------------------------------------------


@pytest.fixture
def api():
    return Client(enforce_csrf_checks=True)


def post(client, name, payload):
    return client.post(
        f"/api/estimates/{name}", data=json.dumps(payload), content_type="application/json"
    )


def test_api_answers_with_the_same_numbers_as_the_pages(api):
    response = post(api, "nines", {"availability": 99.9, "qps": 100})
    assert response.status_code == 200
    body = response.json()
    assert body["downtime_per_month_s"] == pytest.approx(2592)
    assert body["error_budget_per_month"] == pytest.approx(259_200)
    response = post(api, "littles-law", {"concurrency": 64, "latency_ms": 50})
    assert response.status_code == 200
    assert response.json()["arrival_rate"] == pytest.approx(1280)
    assert response.json()["solved_for"] == "arrival_rate"


@pytest.mark.parametrize("name", list(ESTIMATES))
def test_every_estimate_answers_its_defaults(api, name):
    defaults = {key: value for key, value in ESTIMATES[name].defaults().items()
                if value is not None}  # fmt: skip
    defaults = {k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items()}
    response = post(api, name, defaults)
    assert response.status_code == 200, response.content
    assert response.json() == pytest.approx(ESTIMATES[name].run_to_dict(**defaults))


@pytest.mark.parametrize(
    "name, payload, field",
    [
        ("nines", {"availability": 101, "qps": 1}, "availability"),
        ("nines", {"availability": 99.9}, "qps"),
        ("serial-parallel", {"availabilities": []}, "availabilities"),
        ("fan-out", {"percentile": 99, "fan_out": 1.5}, "fan_out"),
        ("qps", {"dau": 1, "requests_per_user": 1, "peak_factor": 3, "replica_qps": 0,
                 "utilisation_pct": 70}, "replica_qps"),
        ("littles-law", {"concurrency": 64}, "arrival_rate"),
        ("token-bucket", {"rate": 1, "capacity": 1, "burst_requests": 0, "request_rate": 1000,
                          "duration_s": 3600}, "duration_s"),
    ],
)  # fmt: skip
def test_bad_input_is_a_422_naming_the_field(api, name, payload, field):
    response = post(api, name, payload)
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert detail[0]["loc"][-1] == field and detail[0]["msg"]


def test_the_schema_lists_every_estimate_with_its_bounds(api):
    schema = api.get("/api/openapi.json").json()
    for name in ESTIMATES:
        operation = schema["paths"][f"/api/estimates/{name}"]["post"]
        assert {"200", "422", "429"} <= operation["responses"].keys()
    nines = schema["components"]["schemas"]["NinesIn"]["properties"]["availability"]
    assert (nines["minimum"], nines["maximum"]) == (0, 100)
    assert "Availability (%)" in nines["description"]


def test_the_estimates_share_the_calculators_quota(api):
    for _ in range(quotas.API.anonymous.limit):
        assert post(api, "bandwidth", {"qps": 1, "response_kb": 1}).status_code == 200
    refused = post(api, "bandwidth", {"qps": 1, "response_kb": 1})
    assert refused.status_code == 429 and refused["Retry-After"]


def test_the_api_refuses_get(api):
    assert api.get("/api/estimates/nines").status_code == 405


# --- Pages ----------------------------------------------------------------------------------


def output(text: str, key: str) -> str:
    match = re.search(rf'<output [^>]*data-key="{key}">([^<]*)</output>', text)
    assert match, f"no output {key}"
    return match.group(1)


def test_a_concept_page_with_a_query_computes_without_javascript(client):
    response = client.get("/concepts/availability/?est=nines&availability=99.99&qps=1000")
    assert response.status_code == 200
    text = response.text
    assert output(text, "downtime_per_year_s") == "52.6 min"  # 1e-4 * 525,960 min
    assert output(text, "error_budget_per_month") == "259,200"  # 1e-4 * 2.592 billion
    assert 'name="availability" value="99.99"' in text
    # A plain GET form back to the page itself: the query string is the shareable state.
    assert 'method="get" action="/concepts/availability/#estimator-nines"' in text
    assert '<input type="hidden" name="est" value="nines">' in text
    assert "X-Page-Cache" not in response


def test_a_concept_page_shows_each_estimator_with_its_defaults(client):
    text = client.get("/concepts/availability/").text
    assert "{estimator:" not in text
    assert output(text, "downtime_per_year_s") == "8.77 h"
    assert output(text, "downtime_per_month_s") == "43.2 min"


def test_a_query_for_one_estimator_leaves_the_other_on_the_page_alone(client):
    text = client.get("/concepts/latency/?est=fan-out&percentile=99&fan_out=10").text
    assert output(text, "any_slow_pct") == "9.56%"  # 1 - 0.99¹⁰
    assert output(text, "concurrency") == "100 requests"  # Little's law keeps its defaults


LATENCY_BOTH = (
    "/concepts/latency/?est=fan-out&percentile=99&fan_out=10"
    "&arrival_rate=2000&latency_ms=&concurrency=50"
)


def test_a_link_holds_the_inputs_of_every_estimator_on_the_page(client):
    text = client.get(LATENCY_BOTH).text
    assert output(text, "any_slow_pct") == "9.56%"  # 1 - 0.99¹⁰
    assert output(text, "latency_ms") == "25 ms"  # W = L / λ = 50 / 2,000 s, though est=fan-out


def _estimator_form(text: str, name: str) -> str:
    found = re.search(rf'<section class="estimator" id="estimator-{name}".*?</form>', text, re.S)
    assert found, f"no estimator {name}"
    return found.group()


def test_each_form_sends_the_other_estimators_inputs_back_unchanged(client):
    text = client.get(LATENCY_BOTH).text
    littles = _estimator_form(text, "littles-law")
    assert '<input type="hidden" name="percentile" value="99">' in littles
    assert '<input type="hidden" name="fan_out" value="10">' in littles
    assert 'type="hidden" name="concurrency"' not in littles  # its own inputs are its fields
    fan_out = _estimator_form(text, "fan-out")
    assert '<input type="hidden" name="concurrency" value="50">' in fan_out
    assert '<input type="hidden" name="latency_ms" value="">' in fan_out
    assert 'type="hidden" name="fan_out"' not in fan_out


def test_htmx_pushes_the_other_estimators_inputs_as_the_address_holds_them(client):
    # The form's hidden copies are as the page was served (concurrency=1); the address bar has
    # what the reader typed in Little's law since.
    response = client.get(
        "/estimates/fan-out/?est=fan-out&concurrency=1&percentile=99&fan_out=10",
        headers={"HX-Request": "true",
                 "HX-Current-URL": "http://testserver/concepts/latency/?est=littles-law"
                                   "&arrival_rate=2000&latency_ms=&concurrency=50"},
    )  # fmt: skip
    assert response["HX-Push-Url"] == LATENCY_BOTH + "#estimator-fan-out"


def test_no_concept_page_places_two_estimators_that_share_an_input_name():
    # One query holds every estimator's inputs on a page, by the inputs' names.
    for path in sorted((FIXTURES_DIR / "concepts").glob("*.md")):
        names = re.findall(r"^\{estimator:([^{}\n]+)\}$", path.read_text(), re.M)
        inputs = [q.name for name in names for q in ESTIMATES[name].inputs]
        assert len(inputs) == len(set(inputs)), f"{path.name}: {names} share an input"


def test_bad_input_in_the_query_is_explained_at_the_field(client):
    text = client.get("/concepts/availability/?est=nines&availability=120&qps=100").text
    assert "Availability (%) must be a number from 0 to 100%." in text
    assert 'name="availability" value="120"' in text  # what the reader typed stays
    assert "Fix the fields marked above" in text


def test_a_number_typed_with_thousands_separators_is_read(client):
    """The estimates show 2,592,000; a reader who types or pastes 1,000 means a thousand."""
    text = client.get("/concepts/availability/?est=nines&availability=99.9&qps=1,000").text
    assert "Fix the fields marked above" not in text
    assert 'data-key="error_budget_per_month">2,592,000<' in text  # 0.1 % of 1,000/s a month


def test_the_concept_page_keeps_its_query_budget_with_estimators(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        assert client.get("/concepts/latency/?est=fan-out&fan_out=5").status_code == 200
    assert len(context.captured_queries) == 5  # as for any concept page: no query per estimator


def test_htmx_gets_the_result_and_the_concept_url_to_push(client):
    response = client.get(
        "/estimates/nines/?est=nines&availability=99.99&qps=1000",
        headers={"HX-Request": "true",
                 "HX-Current-URL": "http://testserver/concepts/availability/?est=nines"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "<html" not in response.text and "<form" not in response.text
    assert output(response.text, "downtime_per_year_s") == "52.6 min"
    assert response["HX-Push-Url"] == (
        "/concepts/availability/?est=nines&availability=99.99&qps=1000#estimator-nines"
    )


def test_a_result_names_the_inputs_it_came_from(client):
    # After Back or Forward, the page's script copies these into the fields (a restored copy
    # of the page keeps the fields' first values).
    response = client.get(
        "/estimates/nines/?est=nines&availability=99.5", headers={"HX-Request": "true"}
    )
    assert 'data-inputs="availability=99.5&amp;qps=100"' in response.text
    text = client.get("/concepts/qps/?est=qps&dau=-1").text
    assert 'data-inputs="dau=-1&amp;' in text  # a refused value too: the fields show it


def test_htmx_never_pushes_another_sites_url(client):
    response = client.get(
        "/estimates/nines/?est=nines&availability=99.99&qps=1",
        headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/concepts/x/"},
    )
    assert response["HX-Push-Url"].startswith("/estimates/nines/?est=nines")


def test_htmx_errors_replace_the_field_messages(client):
    response = client.get("/estimates/qps/?est=qps&dau=-5", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="id_qps_dau_error" role="alert" hx-swap-oob="true"' in response.text
    assert "Daily active users must be a whole number from 0 to" in response.text


def test_an_htmx_request_for_the_concept_page_gets_each_message_box_once(client):
    # htmx asks for the whole page when it restores history; no out-of-band copies then.
    text = client.get("/concepts/qps/?est=qps&dau=-1", headers={"HX-Request": "true"}).text
    assert text.count('id="id_qps_dau_error"') == 1


def test_an_estimator_has_a_page_of_its_own_and_unknown_names_are_404(client):
    response = client.get("/estimates/kafka-partitions/?target_mb_s=100")
    assert response.status_code == 200
    assert "<h1>Kafka partitions</h1>" in response.text
    assert output(response.text, "for_consumers") == "20"  # 100 / 5
    assert client.get("/estimates/no-such-estimate/").status_code == 404
    assert client.post("/estimates/nines/").status_code == 405


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    name=st.sampled_from(list(ESTIMATES)),
    values=st.lists(st.one_of(st.text(max_size=30), st.floats(allow_nan=True).map(repr),
                              st.integers().map(str)), min_size=5, max_size=5),
)  # fmt: skip
def test_any_query_gets_an_estimate_or_a_message_at_the_field_never_a_500(client, name, values):
    fields = [quantity.name for quantity in ESTIMATES[name].inputs]
    query = {"est": name, **dict(zip(fields, values, strict=False))}
    for url in (f"/estimates/{name}/", "/concepts/latency/"):
        response = client.get(url, query, headers={"HX-Request": "true"})
        assert response.status_code == 200
        text = response.text
        assert "<output " in text or re.search(r'class="field-error"[^>]*>\s*<p>\S', text)


# --- The directive -----------------------------------------------------------------------------


def test_the_directive_survives_the_markdown_pipeline_unchanged():
    html = render_markdown("Before.\n\n{estimator:kafka-partitions}\n\nAfter.", glossary=False)
    assert "<p>{estimator:kafka-partitions}</p>" in html.html


def _with_estimators(body_html: str) -> str:
    request = RequestFactory().get("/concepts/somewhere/")
    template = Template("{% load estimators %}{% with_estimators body %}")
    return template.render(Context({"request": request, "body": body_html}))


def test_unknown_estimators_are_flagged_for_editors():
    text = _with_estimators("<p>One.</p>\n<p>{estimator:nope}</p>\n<p>Two.</p>")
    assert "Unknown estimator “nope”" in text and "Known estimators: bandwidth" in text
    assert text.startswith("<p>One.</p>") and text.endswith("<p>Two.</p>")


def test_only_a_paragraph_that_is_exactly_a_marker_becomes_an_estimator():
    text = _with_estimators("<p>{estimator:nines} is how you write it.</p>")
    assert text == "<p>{estimator:nines} is how you write it.</p>"
    # A glossary link wrapped around a word of the name does not hide it.
    linked = _with_estimators('<p>{estimator:<a href="/concepts/availability/">nines</a>}</p>')
    assert 'id="estimator-nines"' in linked


def test_an_editors_page_can_place_any_estimator(client):
    Concept.objects.create(
        slug="sizing-drill", title="Sizing drill", level=Level.objects.first(),
        summary="Practice.", body="Size it.\n\n{estimator:storage}\n\n{estimator:typo}\n",
    )  # fmt: skip
    text = client.get("/concepts/sizing-drill/").text
    assert output(text, "bytes_on_disk") == "27 TB"
    assert "Unknown estimator “typo”" in text


# --- Each page's prose quotes its estimator's defaults ------------------------------------

#: name → (page, default inputs, [(result key, as shown, phrase in the prose)], input phrases)
PROSE = {
    "nines": ("availability", {"availability": 99.9, "qps": 100}, [
        ("downtime_per_year_s", "8.77 h", "8.77 h a year"),
        ("downtime_per_month_s", "43.2 min", "43.2 min of downtime a month"),
        ("error_budget_per_month", "259,200", "lets 259,200 of them fail"),
    ], ["At a steady 100 requests a second", "99.9% SLO"]),
    "serial-parallel": ("redundancy", {"availabilities": (99, 99)}, [
        ("series_availability", "98.01%", "$0.99^2 = 98.01\\%$"),
        ("series_downtime_per_year_s", "7.27 days", "about 7.27 days of downtime a year"),
        ("parallel_availability", "99.99%", "$1 - 0.01^2 = 99.99\\%$"),
        ("parallel_downtime_per_year_s", "52.6 min", "down about 52.6 min a year"),
    ], ["Two replicas at 99% each"]),
    "qps": ("qps", {"dau": 10_000_000, "requests_per_user": 20, "peak_factor": 3,
                    "replica_qps": 400, "utilisation_pct": 70}, [
        ("average_qps", "2,315", "2{,}315\\ \\text{QPS on average}"),
        ("peak_qps", "6,944", "plan for about 6,944 QPS"),
        ("usable_qps_per_replica", "280", "$400 \\times 0.7 = 280$ QPS"),
        ("replicas", "25", "rounded up to 25 replicas"),
    ], ["10 million DAU, each making 20 requests a day", "peak factor of 3×",
        "one replica holds 400 QPS", "70% utilisation ceiling"]),
    "storage": ("data-storage", {"items_per_day": 10**8, "bytes_per_item": 1000,
                                 "retention_days": 90, "replication": 3}, [
        ("bytes_per_day", "100 GB", "100 GB/day"),
        ("bytes_per_year", "36.5 TB", "about 36.5 TB a year"),
        ("bytes_on_disk", "27 TB", "that is 27 TB of disk"),
    ], ["$10^8$ events a day at 1 KB each", "Kept for 90 days with a replication factor of 3"]),
    "bandwidth": ("throughput", {"qps": 2000, "response_kb": 50}, [
        ("bytes_per_s", "100 MB/s", "is 100 MB/s"),
        ("bits_per_s", "800 Mbit/s", "or 800 Mbit/s"),
        ("bytes_per_month", "259 TB", "about 259 TB in a 30-day month"),
    ], ["2,000 requests/s of 50 KB responses"]),
    "littles-law": ("latency", {"arrival_rate": 2000, "latency_ms": 50, "concurrency": None}, [
        ("concurrency", "100 requests", "keep 100 requests in flight"),
    ], ["2,000 requests/s at a mean latency of 50 ms"]),
    "fan-out": ("latency", {"percentile": 99, "fan_out": 100}, [
        ("any_slow_pct", "63.4%", "100 backends make about 63.4% slow"),
    ], ["(each backend's p99)"]),
    "kafka-partitions": ("kafka", {"target_mb_s": 50, "producer_mb_s": 10, "consumer_mb_s": 5,
                                   "headroom": 3}, [
        ("partitions", "10", "\\max(50/10, 50/5) = 10$ partitions"),
        ("with_headroom", "30", "three times that, 30"),
    ], ["50 MB/s", "a producer writes 10 MB/s to one partition", "a consumer reads 5 MB/s"]),
    "cache-latency": ("redis", {"hit_ratio_pct": 90, "hit_ms": 0.5, "miss_ms": 10}, [
        ("mean_ms", "1.45 ms", "= 1.45$ ms"),
        ("miss_time_pct", "69%", "69% of that time goes on the misses"),
    ], ["90% hits at 0.5 ms and misses at 10 ms"]),
    "token-bucket": ("rate-limiting", {"rate": 10, "capacity": 20, "burst_requests": 50,
                                       "request_rate": 20, "duration_s": 60}, [
        ("offered", "1,250", "offers 1,250 requests"),
        ("allowed", "620", "620 in all"),
        ("rejected", "630", "rejects 630"),
        ("rejected_pct", "50.4%", "(50.4%)"),
    ], ["With $r = 10$/s and $b = 20$", "sends 50 requests at once and then 20 a second for a "
        "minute"]),
}  # fmt: skip


def test_every_estimator_is_on_its_page():
    assert set(PROSE) == set(ESTIMATES)


@pytest.mark.parametrize("name", list(PROSE))
def test_each_page_quotes_its_estimators_default_numbers(name):
    slug, defaults, quoted, inputs = PROSE[name]
    body = read_file(FIXTURES_DIR / "concepts" / f"{slug}.md")["body"]
    assert f"\n{{estimator:{name}}}\n" in body, f"{slug} places the {name} estimator"
    assert ESTIMATES[name].defaults() == defaults
    shown = {row.key: row.text for row in results.present(name, ESTIMATES[name].run(**defaults))}
    for key, text, phrase in quoted:
        assert shown[key] == text, (key, shown[key])
        as_written = phrase.replace("{,}", ",").replace("\\%", "%")  # LaTeX: 2{,}315, 98.01\%
        assert text.split(" ")[0] in as_written, (text, phrase)
        assert phrase in body, f"{slug} says “{phrase}”"
    for phrase in inputs:
        assert phrase in body, f"{slug} says “{phrase}”"
