"""Estimators in a real browser: the estimate follows the inputs, the address bar keeps them,
a reload (or a shared link) restores both, and the plain form works with JavaScript off."""

import re

import pytest

from tests.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser


def test_changing_an_input_updates_the_estimate_and_the_url(site, page):
    page.goto(site.url + "/concepts/availability/")
    estimator = page.locator("#estimator-nines")
    year = estimator.locator('output[data-key="downtime_per_year_s"]')
    assert year.inner_text() == "8.77 h"  # the default, 99.9%, as the page's prose says
    assert_no_axe_violations(page)
    page.evaluate("window.__marker = 'same page'")

    page.fill("#id_nines_availability", "99.99")
    estimator.locator('output[data-key="downtime_per_year_s"]', has_text="52.6 min").wait_for()
    page.wait_for_url(
        re.compile(
            r"/concepts/availability/\?est=nines&availability=99\.99&qps=100#estimator-nines$"
        )
    )
    assert page.evaluate("window.__marker") == "same page", "updated in place, not reloaded"
    assert estimator.locator('output[data-key="downtime_per_month_s"]').inner_text() == "4.32 min"
    assert_no_axe_violations(page)

    shared = page.url
    page.goto("about:blank")
    page.goto(shared)
    assert page.input_value("#id_nines_availability") == "99.99"
    assert page.input_value("#id_nines_qps") == "100"
    assert year.inner_text() == "52.6 min"
    assert_no_axe_violations(page)


def test_a_bad_value_is_explained_at_the_field_until_it_is_fixed(site, page):
    page.goto(site.url + "/concepts/qps/")
    estimator = page.locator("#estimator-qps")
    page.fill("#id_qps_utilisation_pct", "150")
    error = page.locator("#id_qps_utilisation_pct_error")
    error.get_by_text("Utilisation ceiling (%) must be a number from 1 to 100%.").wait_for()
    estimator.get_by_text("Fix the fields marked above").wait_for()
    assert page.input_value("#id_qps_utilisation_pct") == "150"
    assert_no_axe_violations(page)

    page.fill("#id_qps_utilisation_pct", "50")  # 400 * 0.5 = 200 a replica; 6,944 / 200 -> 35
    estimator.locator('output[data-key="replicas"]', has_text="35").wait_for()
    assert error.inner_text() == ""


def test_two_estimators_on_one_page_keep_to_themselves_and_both_stay_in_the_url(site, page):
    page.goto(site.url + "/concepts/latency/")
    littles = page.locator("#estimator-littles-law")
    page.fill("#id_littles_law_latency_ms", "")
    page.fill("#id_littles_law_concurrency", "50")
    # W = L / λ = 50 / 2,000 s
    littles.locator('output[data-key="latency_ms"]', has_text="25 ms").wait_for()
    page.wait_for_url(re.compile(r"est=littles-law&.*concurrency=50"))

    fan_out = page.locator("#estimator-fan-out")
    page.fill("#id_fan_out_fan_out", "10")
    fan_out.locator('output[data-key="any_slow_pct"]', has_text="9.56%").wait_for()  # 1 - 0.99^10
    page.wait_for_url(
        re.compile(
            r"\?est=fan-out&percentile=99&fan_out=10&arrival_rate=2000&latency_ms=&concurrency=50"
            r"#estimator-fan-out$"
        )
    )
    assert littles.locator('output[data-key="latency_ms"]').inner_text() == "25 ms"
    assert_no_axe_violations(page)

    page.reload()  # as a shared link opens: both estimators as the reader left them
    assert page.input_value("#id_littles_law_concurrency") == "50"
    assert page.input_value("#id_littles_law_latency_ms") == ""
    assert littles.locator('output[data-key="latency_ms"]').inner_text() == "25 ms"
    assert page.input_value("#id_fan_out_fan_out") == "10"
    assert fan_out.locator('output[data-key="any_slow_pct"]').inner_text() == "9.56%"


def test_without_javascript_the_form_submits_to_a_shareable_page(site, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(site.url + "/concepts/rate-limiting/")
        page.fill("#id_token_bucket_request_rate", "5")  # below the refill rate: all pass
        page.locator("#estimator-token-bucket").get_by_role("button", name="Estimate").click()
        page.wait_for_url(
            re.compile(r"/concepts/rate-limiting/\?est=token-bucket&.*request_rate=5")
        )
        estimator = page.locator("#estimator-token-bucket")
        assert estimator.locator('output[data-key="offered"]').inner_text() == "350"  # 50 + 300
        assert estimator.locator('output[data-key="allowed"]').inner_text() == "320"  # 20 + 300
        assert page.input_value("#id_token_bucket_request_rate") == "5"
    finally:
        context.close()


def test_without_javascript_submitting_one_estimator_keeps_the_others_inputs(site, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(site.url + "/concepts/latency/")
        page.fill("#id_littles_law_latency_ms", "")
        page.fill("#id_littles_law_concurrency", "50")
        page.locator("#estimator-littles-law").get_by_role("button", name="Estimate").click()
        page.wait_for_url(re.compile(r"est=littles-law&.*concurrency=50"))
        page.fill("#id_fan_out_fan_out", "10")
        page.locator("#estimator-fan-out").get_by_role("button", name="Estimate").click()
        page.wait_for_url(re.compile(r"est=fan-out&.*fan_out=10"))
        assert "concurrency=50" in page.url
        littles = page.locator("#estimator-littles-law")
        assert littles.locator('output[data-key="latency_ms"]').inner_text() == "25 ms"
        assert page.input_value("#id_littles_law_concurrency") == "50"
        fan_out = page.locator("#estimator-fan-out")
        assert fan_out.locator('output[data-key="any_slow_pct"]').inner_text() == "9.56%"
    finally:
        context.close()


def test_back_and_forward_show_the_inputs_each_estimate_came_from(site, page):
    page.goto(site.url + "/concepts/availability/")
    estimator = page.locator("#estimator-nines")
    year = estimator.locator('output[data-key="downtime_per_year_s"]')
    field = page.locator("#id_nines_availability")

    field.fill("99.5")
    estimator.locator('output[data-key="downtime_per_year_s"]', has_text="43.8 h").wait_for()
    page.wait_for_url(re.compile(r"availability=99\.5&"))
    field.fill("99.7")
    estimator.locator('output[data-key="downtime_per_year_s"]', has_text="26.3 h").wait_for()
    page.wait_for_url(re.compile(r"availability=99\.7&"))

    page.go_back()
    page.wait_for_url(re.compile(r"availability=99\.5&"))
    estimator.locator('output[data-key="downtime_per_year_s"]', has_text="43.8 h").wait_for()
    assert field.input_value() == "99.5"

    page.go_back()
    page.wait_for_url(re.compile(r"/concepts/availability/$"))
    estimator.locator('output[data-key="downtime_per_year_s"]', has_text="8.77 h").wait_for()
    assert field.input_value() == "99.9"

    page.go_forward()
    page.wait_for_url(re.compile(r"availability=99\.5&"))
    estimator.locator('output[data-key="downtime_per_year_s"]', has_text="43.8 h").wait_for()
    assert field.input_value() == "99.5"
    assert year.inner_text() == "43.8 h"
    assert_no_axe_violations(page)


def test_a_number_the_browser_cannot_read_is_explained_and_kept(site, page):
    """A browser sends nothing for an <input type=number> it cannot parse ("1e309", "--5"):
    the server said "Enter …" or "required", and a submitted page lost the text. As typed
    text, it reaches the server, which says what is wrong."""
    for path, field, message in [
        ("/concepts/availability/", "#id_nines_qps", "Traffic (requests/s) must be a number"),
        ("/metrics/ctr/", "#id_clicks", "Enter a whole number."),
    ]:
        page.goto(site.url + path)
        page.click(field)
        page.keyboard.press("Control+a")
        page.keyboard.type("1e309")
        page.locator(f"{field}_error").get_by_text(message).wait_for()
        assert page.input_value(field) == "1e309"
