"""Worked design docs, one per practice problem: each answers every prompt the template asks of
it with a valid value, links only to pages that exist, and states only numbers that follow from
the inputs it states. Every figure below is recomputed from those inputs, never copied.

Sample sizes use the template's rule of thumb, n = 16 sigma^2 / delta^2 per arm at a 5 %
significance level and power 0.8 (fixtures/concepts/ab-testing.md).
"""

import math
import re

import numpy as np
import pytest

from apps.core.content import FIXTURES_DIR, read_file
from apps.designdocs import numbers

NEW_EXAMPLES = [
    "fraud-detection",
    "search-ranking",
    "eta-prediction",
    "harmful-content-moderation",
    "demand-forecasting",
    "rag-question-answering",
]

SECONDS_PER_DAY = 86_400
SECONDS_PER_30_DAY_MONTH = 30 * SECONDS_PER_DAY


def example(slug: str) -> dict:
    return read_file(FIXTURES_DIR / "examples" / f"{slug}.md")


def text(slug: str) -> str:
    """Problem and every answer, with line breaks folded so wrapped phrases still match."""
    data = example(slug)
    parts = [data["problem"], *(str(value) for value in data["answers"].values())]
    return re.sub(r"\s+", " ", "\n".join(parts))


def says(page: str, *phrases: str) -> None:
    for phrase in phrases:
        assert phrase in page, f"not stated: {phrase!r}"


def fmt(value: float, digits: int = 0) -> str:
    """A number as the pages write it: thousands separated by commas."""
    return f"{value:,.{digits}f}"


def sample_size(sigma2: float, delta: float) -> float:
    return 16 * sigma2 / delta**2


def answer_number(slug: str, key: str) -> numbers.Number:
    prompt = PROMPTS[key]
    return numbers.parse(example(slug)["answers"][key], prompt.get("units") or [])


def tree_bytes(trees: int, leaves: int = 64, bytes_per_node: int = 32) -> int:
    """A binary tree with L leaves has L - 1 split nodes: 2L - 1 nodes in all."""
    return trees * (2 * leaves - 1) * bytes_per_node


def encoder_weights(layers: int, width: int) -> int:
    """Transformer layers: 4 d^2 weights in attention, 8 d^2 in a 4-times-wider feed-forward."""
    return layers * 12 * width**2


# --- The template, read from its files -----------------------------------------------------------


def _template() -> tuple[dict[str, dict], list[str]]:
    prompts, required = {}, []
    for path in sorted((FIXTURES_DIR / "steps").glob("*.md")):
        step = read_file(path)
        for prompt in step.get("prompts") or []:
            prompts[prompt["key"]] = prompt
            if not step.get("optional") and not prompt.get("retired"):
                required.append(prompt["key"])
    return prompts, required


PROMPTS, REQUIRED = _template()
METRIC_FAMILIES = {
    path.stem: read_file(path)["family"] for path in (FIXTURES_DIR / "metrics").glob("*.md")
}


def is_asked(prompt: dict, answers: dict) -> bool:
    condition = prompt.get("condition") or {}
    if not condition:
        return True
    value = str(answers.get(condition["prompt"], ""))
    if "in" in condition:
        return value in condition["in"]
    return value not in condition["not_in"]


# --- Completeness and valid values ---------------------------------------------------------------


@pytest.mark.parametrize("slug", NEW_EXAMPLES)
def test_example_answers_every_prompt_asked_of_it_and_none_it_is_not_asked(slug):
    data = example(slug)
    answers = data["answers"]
    assert data["title"].strip() and len(data["problem"]) > 200
    asked = [key for key in REQUIRED if is_asked(PROMPTS[key], answers)]
    missing = [key for key in asked if not str(answers.get(key, "")).strip()]
    assert missing == []
    hidden = [key for key in REQUIRED if key not in asked and key in answers]
    assert hidden == [], "answers to prompts the template does not ask of this example"
    assert set(answers) <= set(PROMPTS), "every key is a prompt of the template"


@pytest.mark.parametrize("slug", NEW_EXAMPLES)
def test_number_choice_and_metric_answers_are_valid(slug):
    for key, value in example(slug)["answers"].items():
        prompt = PROMPTS[key]
        kind = prompt.get("kind", "markdown")
        if kind == "number":
            assert numbers.check(str(value), prompt.get("units") or []) == "", (key, value)
            assert str(value).split(" ", 1)[1] in prompt["units"], "written with an allowed unit"
        elif kind == "choice":
            assert value in {choice["value"] for choice in prompt["choices"]}, (key, value)
        elif kind == "metrics":
            assert isinstance(value, list) and value, key
            families = set(prompt["families"])
            assert {METRIC_FAMILIES.get(metric) for metric in value} <= families, (key, value)


@pytest.mark.parametrize("slug", NEW_EXAMPLES)
def test_the_practice_problem_names_its_example(slug):
    problem = read_file(FIXTURES_DIR / "problems" / f"{slug}.md")
    assert problem["example"] == slug


def _anchors(slug: str) -> set[str]:
    return set(
        re.findall(r"\{#([a-z0-9-]+)\}", (FIXTURES_DIR / "concepts" / f"{slug}.md").read_text())
    )


@pytest.mark.parametrize("slug", NEW_EXAMPLES)
def test_every_link_in_the_example_resolves(slug):
    links = re.findall(r"\[\[([^\]|]+)(?:\|[^\]]*)?\]\]", text(slug))
    assert links, "an example links the concepts it relies on"
    for link in links:
        if link.startswith("metric:"):
            assert (FIXTURES_DIR / "metrics" / f"{link[7:]}.md").exists(), link
            continue
        page, _, anchor = link.partition("#")
        assert (FIXTURES_DIR / "concepts" / f"{page}.md").exists(), link
        assert not anchor or anchor in _anchors(page), link


@pytest.mark.parametrize("slug", [s for s in NEW_EXAMPLES if s != "demand-forecasting"])
def test_latency_stages_add_up_to_the_budget(slug):
    """The p99 budget is split into named stages; the stages must sum to the stated budget."""
    split = re.search(r"p99[^:.]*: ([^.]*?slack [\d,]+ ms)", text(slug))
    assert split, "the budget is split into stages"
    stages = [int(ms.replace(",", "")) for ms in re.findall(r"([\d,]+) ms", split.group(1))]
    assert len(stages) >= 4
    assert sum(stages) == answer_number(slug, "latency_budget").value


def test_model_type_and_family_are_the_ones_the_problems_call_for():
    answers = {slug: example(slug)["answers"] for slug in NEW_EXAMPLES}
    assert (
        answers["fraud-detection"]["model_type"],
        answers["fraud-detection"]["model_family"],
    ) == (
        "binary",
        "trees",
    )
    assert answers["search-ranking"]["model_type"] == "ranking"
    assert answers["search-ranking"]["model_family"] in {"neural", "trees"}
    assert answers["eta-prediction"]["model_type"] == "regression"
    assert answers["eta-prediction"]["model_family"] == "trees"
    assert answers["harmful-content-moderation"]["model_type"] in {"binary", "multiclass"}
    assert answers["harmful-content-moderation"]["model_family"] == "neural"
    assert answers["demand-forecasting"]["model_type"] == "regression"
    assert answers["rag-question-answering"]["model_type"] == "ranking"
    says(text("rag-question-answering"), 'Why "ranking" among the template\'s model types')


# --- Fraud detection -----------------------------------------------------------------------------


def test_fraud_load_storage_and_training_rows():
    t = text("fraud-detection")
    payments, fraud_rate = 50e6, 0.001
    average = payments / SECONDS_PER_DAY
    peak = average * 3.5
    plan = math.ceil(peak / 100) * 100
    says(
        t,
        f"≈ {fmt(average, 1)} payments a second",
        f"≈ {fmt(peak)}, so we plan for {fmt(plan)} QPS",
    )
    assert answer_number("fraud-detection", "peak_qps").value == plan

    per_day_gb = payments * 1_000 / 1e9
    year_tb, stored_tb = per_day_gb * 365 / 1e3, per_day_gb * 455 / 1e3
    says(t, f"{fmt(per_day_gb)} GB a day × 365 days = {year_tb} TB", f"455 days: {stored_tb} TB")
    assert answer_number("fraud-detection", "data_size").value == year_tb

    fraud = payments * fraud_rate
    good_kept = (payments - fraud) * 0.01
    per_day = fraud + good_kept
    rows = per_day * 365
    says(
        t,
        f"all {fmt(fraud)} fraud payments a day and 1 % of the {fmt(payments - fraud)} good ones "
        f"({fmt(good_kept)}): {fmt(per_day)} a day, {rows / 1e6:.1f} million over 365 days "
        f"({fraud * 365 / 1e6:.2f}M positive)",
        f"from {payments * 365 / 1e9:.2f} billion payments a year to {rows / 1e6:.1f} million",
    )
    assert answer_number("fraud-detection", "label_volume").value == round(rows / 1e6, 1)
    share = fraud / per_day
    says(t, f"{fmt(fraud)} / {fmt(per_day)} ≈ {share * 100:.1f} % fraud")


def test_fraud_downsampling_correction_recovers_the_base_rate():
    t = text("fraud-detection")
    r, p_train = 0.01, 50_000 / 549_500
    corrected = p_train / (p_train + (1 - p_train) / r)
    assert corrected == pytest.approx(0.001)
    says(t, f"p′ = {p_train:.4f} gives {p_train:.4f} / ({p_train:.4f} + {1 - p_train:.4f} / 0.01)")
    says(t, f"≈ {corrected:.4f}, the true base rate")


def _fraud_thresholds(amount: float) -> tuple[float, float]:
    """The probability where step-up beats approve, and where decline beats step-up."""
    loss, friction, passes = amount + 20, 1.0, 0.3
    decline = 0.1 * amount + 10

    def cost(p):
        return {
            "approve": p * loss,
            "step_up": (1 - p) * friction + p * passes * loss,
            "decline": (1 - p) * decline,
        }

    grid = np.linspace(0, 1, 2_000_001)
    costs = cost(grid)
    best = np.argmin(np.vstack([costs["approve"], costs["step_up"], costs["decline"]]), axis=0)
    return grid[np.argmax(best >= 1)], grid[np.argmax(best == 2)]


@pytest.mark.parametrize(
    ("amount", "label", "step_digits", "decline_digits"),
    [(5, "5 EUR", 1, 1), (100, "100 EUR", 2, 1), (5_000, "5,000 EUR", 3, 1)],
)
def test_fraud_thresholds_follow_the_cost_model_for_each_amount(
    amount, label, step_digits, decline_digits
):
    step_up, decline = _fraud_thresholds(amount)
    row = (
        f"| {label} | p = {step_up * 100:.{step_digits}f} % "
        f"| p = {decline * 100:.{decline_digits}f} % |"
    )
    says(text("fraud-detection"), row)


def test_fraud_thresholds_fall_as_the_amount_grows():
    steps, declines = zip(*(_fraud_thresholds(a) for a in (5, 100, 5_000)), strict=True)
    assert list(steps) == sorted(steps, reverse=True)
    assert list(declines) == sorted(declines, reverse=True)


def test_fraud_exploration_rules_and_review_capacity():
    t = text("fraud-detection")
    explored, cap_eur, rules_precision = 1_000, 50, 0.10
    says(t, f"{fmt(explored)} × {cap_eur} = {fmt(explored * cap_eur)} EUR a day")
    expected_fraud = explored * rules_precision
    says(t, f"about {fmt(expected_fraud)} of them are fraud")
    chargeback_eur = 20  # the cost model's fee and handling per approved fraud
    worst_loss = expected_fraud * (cap_eur + chargeback_eur)
    says(
        t,
        f"an expected loss under {fmt(expected_fraud)} × ({cap_eur} + {chargeback_eur}) = "
        f"{fmt(worst_loss)} EUR a day",
        f"under {fmt(worst_loss)} EUR a day with chargeback costs",
    )
    says(t, f"{fmt(explored * 365)} labelled declines a year, about {fmt(explored * 365 * 0.1)}")
    declined, caught = 50e6 * 0.003, 50_000 * 0.30
    says(
        t,
        f"0.3 % of payments ({fmt(declined)} a day)",
        f"about 30 % of fraud by count ({fmt(caught)} a day)",
    )
    says(t, f"{fmt(caught)} / {fmt(declined)} = {caught / declined * 100:.0f} %")
    cases = 40 * 100
    says(t, f"40 analysts × 100 cases = {fmt(cases)} cases a day, {cases / 50e6 * 100:.3f} %")


def test_fraud_model_memory_compute_fleet_and_training_time():
    t = text("fraud-detection")
    model_mb = tree_bytes(1_000) / 1e6
    blocklist_mb = 10e6 * 16 / 1e6
    says(t, f"≈ {model_mb:.1f} MB", f"10M entries × 16 B = {blocklist_mb:.0f} MB")
    budget_gb = answer_number("fraud-detection", "memory_constraint").value
    assert (model_mb + blocklist_mb) / 1e3 < budget_gb
    says(t, f"300M keys (cards, devices, IPs, merchants) × 200 B ≈ {300e6 * 200 / 1e9:.0f} GB")
    per_payment_us = 1_000 * 40e-9 * 1e6
    cores = 2_100 * per_payment_us / 1e6
    says(t, f"1,000 trees take about {per_payment_us:.0f} µs; 2,100 QPS × 40 µs ≈ {cores:.3f}")
    vcpus = 2 * 3 * 4
    says(t, f"2 regions × 3 replicas × 4 vCPUs = {vcpus} vCPUs, roughly {vcpus * 10} W")
    training_rows = (50_000 + 0.01 * 49_950_000) * 365
    binned_gb = training_rows * 200 / 1e9
    says(t, f"about {binned_gb:.1f} GB in memory")
    run_s = 1_000 * 2
    says(t, f"1,000 trees take {fmt(run_s)} s, about {run_s / 60:.0f} minutes")
    tuning_s = 40 * run_s
    says(t, f"40 × {fmt(run_s)} s = {fmt(tuning_s)} s, about {tuning_s / 3600:.0f} hours")
    says(t, f"or {tuning_s / 3600 / 8:.1f} hours on 8")


def test_fraud_ab_test_sample_size_from_per_card_losses():
    t = text("fraud-detection")
    payments = 50e6 * 28
    cards = payments / 10
    fraud_eur = payments * 0.001 * 150
    mean = fraud_eur / cards
    says(t, f"{payments / 1e9:.1f}B payments", f"{cards / 1e6:.0f}M active cards")
    says(t, f"{fraud_eur / 1e6:.0f}M EUR of fraud, 210M / 140M = {mean:.2f} EUR per card")
    delta = 0.10 * mean
    n = sample_size(30**2, delta)
    says(t, f"δ = {delta:.2f} EUR", f"16 × 900 / {delta**2:.4f} = {fmt(n)} cards per arm")
    assert answer_number("fraud-detection", "ab_sample_size").value == round(n)
    arm = 0.02 * cards
    assert arm > n
    says(t, f"2 % of cards, {arm / 1e6:.1f}M")


def test_fraud_appendix_repeats_the_same_arithmetic():
    t = text("fraud-detection")
    average = 50e6 / SECONDS_PER_DAY
    says(t, f"50M / 86,400 ≈ {average:.1f}; × 3.5 ≈ {fmt(average * 3.5)}; plan 2,100")
    says(t, f"× 365 = {50 * 365 / 1e3} TB; × 455 = {50 * 455 / 1e3} TB")
    says(t, f"50,000 + 0.01 × 49,950,000 = {fmt(50_000 + 0.01 * 49_950_000)} a day")
    says(t, f"× 365 = {(50_000 + 0.01 * 49_950_000) * 365 / 1e6:.1f}M")
    says(t, f"16 × 30² / 0.15² = {fmt(sample_size(30**2, 0.15))} cards per arm")
    says(t, f"2,100 QPS needs about {2_100 * 1_000 * 40e-9:.3f} of one CPU core")


# --- Search ranking ------------------------------------------------------------------------------


def test_search_load_latency_and_storage():
    t = text("search-ranking")
    average = 20e6 / SECONDS_PER_DAY
    peak = 3 * average
    says(t, f"≈ {average:.1f} QPS on average", f"3× the mean, {peak:.0f} QPS")
    assert answer_number("search-ranking", "peak_qps").value == math.ceil(peak / 100) * 100
    rows = 20e6 * 25
    per_day_gb = rows * 400 / 1e9
    says(
        t,
        f"20M × 25 = {rows / 1e6:.0f}M rows a day; at about 400 B a row, {per_day_gb:.0f} GB a day",
    )
    year_tb = per_day_gb * 365 / 1e3
    says(t, f"{per_day_gb:.0f} GB × 365 = {year_tb:.0f} TB")
    assert answer_number("search-ranking", "data_size").value == year_tb


def test_search_labels_and_training_set():
    t = text("search-ranking")
    says(t, f"About 1M searches a day ({1e6 / 20e6:.0%})".replace("%", " %"))
    says(t, f"About 60 % of searches ({0.6 * 20e6 / 1e6:.0f}M a day)")
    says(t, f"is {300_000 / (20e6 * 25) * 100:.2f} % per impression")
    searches = 1e6 * 0.2 * 90
    rows = searches * 25
    says(
        t, f"1M × 0.2 × 90 = {searches / 1e6:.0f}M searches, × 25 shown listings = {rows / 1e6:.0f}"
    )
    assert answer_number("search-ranking", "label_volume").value == rows / 1e6
    says(t, f"about 1 listing in 25 ({1 / 25:.0%})".replace("%", " %"))
    gains = [2**grade - 1 for grade in (4, 3, 2, 1)]
    says(
        t,
        "a booking (grade 4) is worth {}, a rejected request {}, a save {}, a click {}".format(
            *gains
        ),
    )


def test_search_model_memory_compute_and_training():
    t = text("search-ranking")
    says(t, f"≈ {tree_bytes(500) / 1e6:.1f} MB")
    cache_gb = 5e6 * 100 * 4 / 1e9
    says(t, f"5M listings × 100 features × 4 B = {cache_gb:.0f} GB")
    assert cache_gb < answer_number("search-ranking", "memory_constraint").value
    per_listing_us = 500 * 40e-9 * 1e6
    request_ms = 2_000 * per_listing_us / 1e3
    says(
        t,
        f"500 trees cost {per_listing_us:.0f} µs per listing; "
        f"a 2,000-listing search is {request_ms:.0f} ms",
    )
    says(t, f"about {request_ms / 4:.0f} ms split over 4 cores")
    cores = 700 * 2_000 * per_listing_us / 1e6
    says(t, f"700 QPS × 2,000 listings × 20 µs = {cores:.0f} cores busy")
    says(
        t,
        f"that is {cores / 0.5:.0f} cores per region; "
        f"two regions each sized for full peak gives {2 * cores / 0.5:.0f}",
    )
    says(
        t,
        f"Peak scoring needs {cores:.0f} CPU cores",
        f"{2 * cores / 0.5:.0f} vCPUs, roughly {2 * cores / 0.5 * 10 / 1e3:.1f} kW",
    )
    rows = 18e6 * 25
    says(
        t,
        f"about {rows * 150 / 1e9:.1f} GB in memory",
        f"450M × 400 B = {rows * 400 / 1e9:.0f} GB per run",
    )
    run_s = 500 * 3.5
    says(t, f"500 trees take {fmt(run_s)} s, about {run_s / 60:.0f} minutes")
    tuning = 50 * run_s
    says(
        t, f"50 × {fmt(run_s)} s = {fmt(tuning)} s, about {tuning / 3600:.0f} hours on one machine"
    )
    says(t, f"about {tuning / 3600 / 8:.0f} hours on 8")


def test_search_ab_test_sample_size_from_bookers_per_searcher():
    t = text("search-ranking")
    searchers = 20e6 * 14 / 10
    bookings = 300_000 * 14
    p = bookings / searchers
    says(
        t,
        f"gives {searchers / 1e6:.0f}M searchers",
        f"300,000 bookings a day × 14 = {bookings / 1e6:.1f}M",
    )
    says(t, f"p = {p:.0%} of searchers book".replace("%", " %"))
    sigma2 = p * (1 - p)
    delta = 0.01 * p
    n = sample_size(sigma2, delta)
    says(t, f"σ² = p(1 − p) = {sigma2:.4f}", f"δ = {delta:.4f}")
    says(t, f"16 × {sigma2:.4f} / {delta:.4f}² ≈ {fmt(round(n, -2))} guests per arm")
    rounded = math.ceil(n / 10_000) * 10_000
    says(t, f"round up to {fmt(rounded)}")
    assert answer_number("search-ranking", "ab_sample_size").value == rounded
    arm = 0.05 * searchers
    assert arm > rounded
    says(t, f"about {arm / 1e6:.1f}M in 14 days")


# --- ETA prediction ------------------------------------------------------------------------------


def test_eta_load_latency_storage_and_labels():
    t = text("eta-prediction")
    requests = 10e6 * 20
    average = requests / SECONDS_PER_DAY
    peak = 3 * average
    says(t, f"= {requests / 1e6:.0f}M requests a day", f"≈ {fmt(average, 1)} QPS on average")
    says(t, f"3× rush-hour peak, {fmt(peak)}")
    assert answer_number("eta-prediction", "peak_qps").value == math.ceil(peak / 1_000) * 1_000
    log_gb, trips_gb = requests * 300 / 1e9, 10e6 * 2_000 / 1e9
    says(t, f"{log_gb:.0f} GB a day", f"{trips_gb:.0f} GB a day")
    year_tb = (log_gb + trips_gb) * 365 / 1e3
    says(t, f"{log_gb + trips_gb:.0f} GB a day × 365 days = {year_tb:.1f} TB")
    assert answer_number("eta-prediction", "data_size").value == pytest.approx(year_tb)
    per_day = 2 * 10e6 * (1 - 0.10)
    total = per_day * 56
    says(t, f"2 × 10M × 0.9 = {per_day / 1e6:.0f}M examples a day")
    says(
        t,
        f"{per_day / 1e6:.0f}M × 56 = {fmt(total / 1e6)} million examples, "
        f"{total / 2e6:.0f}M for each",
    )
    assert answer_number("eta-prediction", "label_volume").value == total / 1e6


def test_eta_model_memory_compute_and_training():
    t = text("eta-prediction")
    one_model_mb = tree_bytes(1_000) / 1e6
    says(
        t,
        f"about {one_model_mb:.1f} MB each",
        f"4 models × 1,000 trees × 127 nodes (64 leaves) × 32 B ≈ {4 * one_model_mb:.1f} MB",
    )
    cells = 50 * 1_000 / 1
    table_mb = cells * 168 * 4 * 4 / 1e6
    says(
        t,
        f"is {fmt(cells)} cells",
        f"{fmt(cells)} cells × 168 hours of the week × 4 values × 4 B = {table_mb:.1f} MB",
    )
    assert (4 * one_model_mb + table_mb) / 1e3 < answer_number(
        "eta-prediction", "memory_constraint"
    ).value
    per_request_us = 2 * 1_000 * 40e-9 * 1e6
    cores = 7_000 * per_request_us / 1e6
    says(t, f"{per_request_us:.0f} µs", f"7,000 × 80 µs ≈ {cores:.2f} of one core")
    says(t, f"7,000 QPS × 80 µs ≈ {7_000 * 80e-6:.2f} of one CPU core at peak")
    says(t, f"2 regions × 3 replicas × 4 vCPUs = {2 * 3 * 4} vCPUs, roughly {2 * 3 * 4 * 10} W")
    says(t, f"about {504e6 * 100 / 1e9:.1f} GB", f"1,008M × 500 B = {1_008e6 * 500 / 1e9:.0f} GB")
    run_s = 1_000 * 2
    says(t, f"1,000 trees take {fmt(run_s)} s, about {run_s / 60:.0f} minutes")


def test_eta_ab_test_and_switchback_sizes():
    t = text("eta-prediction")
    p = 0.08
    sigma2 = p * (1 - p)
    delta = 0.02 * p
    n = sample_size(sigma2, delta)
    says(t, f"σ² = 0.08 × 0.92 = {sigma2:.4f}", f"δ = {delta:.4f}")
    says(t, f"16 × {sigma2:.4f} / {delta:.4f}² = {fmt(n)} requests per arm")
    inflated = n * 1.5
    says(t, "design effect of 1.5", f"{fmt(inflated)} requests per arm")
    assert answer_number("eta-prediction", "ab_sample_size").value == inflated
    per_arm_per_day = 0.05 * 10e6
    says(t, f"over {fmt(per_arm_per_day)} requests a day")
    assert inflated / per_arm_per_day < 2
    windows = 50 * (24 * 60 // 30) * 14
    says(t, f"50 cities × 48 windows × 14 days = {fmt(windows)} city-windows")


# --- Harmful content moderation ------------------------------------------------------------------


def test_moderation_load_review_budget_and_storage():
    t = text("harmful-content-moderation")
    average = 500e6 / SECONDS_PER_DAY
    peak = 2.5 * average
    says(t, f"≈ {fmt(average)} posts a second", f"2.5× evening peak, {fmt(peak)}")
    assert (
        answer_number("harmful-content-moderation", "peak_qps").value
        == math.ceil(peak / 1_000) * 1_000
    )
    says(t, f"{200_000 / 500e6 * 100:.2f} % of posts")
    queue, sample, extra = 184_000, 10_000, 3_000 * 2
    assert queue + sample + extra == 200_000
    distinct = queue + sample
    labels = distinct * 365
    says(t, f"{fmt(queue)} + {fmt(sample)} = {fmt(distinct)} distinct labelled posts a day")
    says(t, f"over 365 days, {labels / 1e6:.1f} million posts")
    assert answer_number("harmful-content-moderation", "label_volume").value == round(
        labels / 1e6, 1
    )
    per_post_kb = 1 + 0.3 * 200 + 0.1 * 8 * 200
    says(t, f"1 + 0.3 × 200 + 0.1 × 1,600 = {per_post_kb:.0f} KB per post")
    tb = round(labels / 1e6, 1) * 1e6 * per_post_kb * 1e3 / 1e12
    says(t, f"× {per_post_kb:.0f} KB ≈ {tb:.1f} TB")
    assert answer_number("harmful-content-moderation", "data_size").value == round(tb, 1)


def test_moderation_parameters_flops_and_gpu_fleet():
    t = text("harmful-content-moderation")
    layers = encoder_weights(12, 768)
    vocabulary = 250_002  # XLM-R base as released (the paper rounds it to 250K)
    text_encoder = layers + vocabulary * 768
    image_encoder = layers + 16 * 16 * 3 * 768
    fusion = (1_600 * 1_024 + 1_024) + (1_024 * 512 + 512)
    heads_and_context = (512 * 4 + 4) + (20 * 64 + 64)
    total = text_encoder + image_encoder + fusion + heads_and_context
    says(t, f"12 × 12 × 768² = {fmt(layers)} ≈ {layers / 1e6:.1f}M")
    says(t, f"{fmt(vocabulary)} × 768 ≈ {vocabulary * 768 / 1e6:.0f}M")
    says(t, f"about {text_encoder / 1e6:.0f}M", f"about {image_encoder / 1e6:.1f}M")
    assert 768 + 768 + 64 == 1_600
    says(t, "(768 + 768 + 64 = 1,600) → MLP 1,600 → 1,024 → 512")
    says(t, f"about {fusion / 1e6:.1f}M weights", f"about {total / 1e6:.0f}M parameters")
    says(t, f"about {total * 2 / 1e9:.2f} GB")
    assert total * 2 / 1e9 < answer_number("harmful-content-moderation", "memory_constraint").value

    per_token = 2 * layers
    text_gf, image_gf = per_token * 128 / 1e9, per_token * 197 / 1e9
    video_gf = 8 * image_gf
    says(t, f"2 × {fmt(layers)} ≈ {per_token / 1e6:.2f} MFLOPs per token")
    says(t, f"is {text_gf:.2f} GFLOPs", f"is {image_gf:.2f} GFLOPs", f"is {video_gf:.2f} GFLOPs")
    mix = text_gf + 0.3 * image_gf + 0.1 * video_gf
    says(
        t,
        f"{text_gf:.2f} + 0.3 × {image_gf:.2f} + 0.1 × {video_gf:.2f} ≈ {mix:.2f} GFLOPs",
    )
    peak_tflops = 15_000 * mix / 1e3
    usable = 100 * 0.5
    says(
        t,
        f"about {peak_tflops:.0f} TFLOP/s",
        f"{peak_tflops:.0f} / 50 ≈ {peak_tflops / usable:.1f}",
    )
    gpus = math.ceil(peak_tflops / usable)
    says(t, f"so {gpus} GPUs at peak")
    daily = 500e6 / SECONDS_PER_DAY * mix / 1e3
    says(t, f"about {daily / usable:.0f} at the daily average of {daily:.0f} TFLOP/s")
    small = encoder_weights(6, 384)
    small_gf = 2 * small * 128 / 1e9
    says(t, f"12 × 6 × 384² ≈ {small / 1e6:.1f}M weights, {small_gf:.1f} GFLOPs per post")
    says(t, f"needs about {15_000 * small_gf / 1e3:.0f} TFLOP/s at peak")
    fleet_kw = (gpus + 2) * 400 / 1e3
    says(
        t,
        f"needs {gpus} GPUs at peak plus 2 spares",
        f"{gpus + 2} GPUs draw up to {fleet_kw:.0f} kW",
    )
    says(t, f"about {fleet_kw * 24:.0f} kWh a day")

    labelled_posts = round((184_000 + 10_000) * 365 / 1e6, 1) * 1e6
    train_flops = 3 * round(mix, 2) * 1e9 * labelled_posts
    gpu_s = train_flops / 100e12
    says(
        t,
        f"3 × {mix:.2f} GFLOPs × {labelled_posts / 1e6:.1f}M "
        f"≈ {train_flops / 1e19:.2f} × 10¹⁹ FLOPs",
    )
    says(t, f"about {round(gpu_s, -3):,.0f} GPU-seconds, {gpu_s / 3600:.1f} GPU-hours")
    says(t, f"about {gpu_s / 3600 / 16:.1f} hours on 16 GPUs")


def test_moderation_measurement_precision_and_ab_sample():
    t = text("harmful-content-moderation")
    monthly = 10_000 * 30
    p = 0.001
    se = math.sqrt(p * (1 - p) / monthly)
    half = 1.96 * se
    says(t, f"is {fmt(monthly)} a month", f"√(0.001 × 0.999 / 300,000) ≈ {se:.7f}")
    says(t, f"about ±{half * 100:.4f} percentage points, ±{half / p * 100:.0f} % relative")
    audit = 1.96 * math.sqrt(0.95 * 0.05 / 1_000)
    says(t, f"about ±{audit * 100:.1f} points")
    p = 0.003
    sigma2 = p * (1 - p)
    delta = 0.2 * p
    n = sample_size(sigma2, delta)
    says(t, f"σ² = p(1 − p) ≈ {sigma2:.5f}", f"δ = {delta:.4f}")
    says(t, f"16 × {sigma2:.5f} / {delta:.4f}² ≈ {fmt(round(n, -2))}")
    rounded = math.ceil(n / 1_000) * 1_000
    says(t, f"round up to {fmt(rounded)} labelled sessions per arm")
    assert answer_number("harmful-content-moderation", "ab_sample_size").value == rounded
    labels = 2 * rounded
    per_day = labels / 14
    says(t, f"that is {fmt(labels)} labels, {fmt(per_day)} a day, {per_day / 200_000 * 100:.1f} %")


# --- Demand forecasting --------------------------------------------------------------------------


def test_demand_batch_size_and_history():
    t = text("demand-forecasting")
    series = 2_000 * 30_000
    daily = series * 14
    total = daily + series
    window = 4 * 3_600
    says(
        t, f"= {series / 1e6:.0f}M series; × 14 daily horizons = {daily / 1e6:.0f}M daily forecasts"
    )
    says(t, f"60M more, {total / 1e6:.0f}M in all", f"{fmt(window)} s")
    says(t, f"840M / 14,400 ≈ {fmt(daily / window)} daily forecasts a second")
    says(t, f"900M / 14,400 = {fmt(total / window)} forecasts a second")
    assert answer_number("demand-forecasting", "peak_qps").value == total / window
    rows = series * 3 * 365
    says(t, f"60M series × 1,095 days (three years) = {rows / 1e9:.1f}B rows")
    says(t, f"≈ {round(rows / 1e9)}B;")
    tb = rows * 20 / 1e12
    says(t, f"{tb:.3f} TB ≈ {tb:.1f} TB")
    assert answer_number("demand-forecasting", "data_size").value == round(tb, 1)


def test_demand_critical_ratios_and_training_rows():
    t = text("demand-forecasting")
    fresh = 1 / (1 + 2)
    long_life = 1 / (1 + 0.1)
    says(t, f"τ = 1 / (1 + 2) ≈ {fresh:.2f}", f"τ = 1 / (1 + 0.1) ≈ {long_life:.2f}")
    series = 2_000 * 30_000
    sampled = 500_000
    says(t, f"(1 in {series // sampled}")
    rows = sampled * 104 * 14
    says(t, f"500,000 × 104 × 14 = {rows / 1e6:.0f} million rows")
    assert answer_number("demand-forecasting", "label_volume").value == rows / 1e6
    says(t, f"about {rows * 120 / 1e9:.1f} GB in memory")
    says(t, "52M rows", f"1,000 trees take {fmt(1_000 * 5)} s, about {1_000 * 5 / 3600:.1f} hours")
    assert sampled * 104 == 52e6


def test_demand_scoring_memory_and_serving():
    t = text("demand-forecasting")
    core_s = 900e6 * 5 * 1_000 * 40e-9
    cores = core_s / (4 * 3_600)
    says(t, f"= {fmt(core_s)} core-seconds, {core_s / 3_600:.0f} core-hours: {cores:.1f} cores")
    with_headroom = math.ceil(3 * cores)
    says(t, f"about {with_headroom} with 3× headroom", f"about {with_headroom} cores")
    says(t, f"about {with_headroom * 10 * 4 / 1e3:.1f} kWh a night")
    models_mb = 10 * tree_bytes(1_000) / 1e6
    store_mb = 30_000 * 14 * 120 * 4 / 1e6
    says(t, f"≈ {models_mb:.1f} MB", f"≈ {store_mb:.1f} MB of features")
    assert (models_mb + store_mb) / 1e3 < answer_number(
        "demand-forecasting", "memory_constraint"
    ).value
    says(t, f"900M rows × 5 quantiles × 4 B = {900e6 * 5 * 4 / 1e9:.0f} GB a night")


def test_demand_store_pilot_sample_size():
    t = text("demand-forecasting")
    sigma, delta = 1.0, 0.5
    n = sample_size(sigma**2, delta)
    says(t, f"16 × 1.0² / 0.5² = {n:.0f} stores per arm")
    assert answer_number("demand-forecasting", "ab_sample_size").value == n
    assert delta / 4.0 == 1 / 8
    says(t, "an eighth of a 4 % waste rate")


# --- Question answering over support documents ---------------------------------------------------


def test_rag_load_tokens_cost_and_latency():
    t = text("rag-question-answering")
    average = 20e6 / SECONDS_PER_30_DAY_MONTH
    peak = 3 * average
    says(t, f"≈ {average:.1f} questions a second", f"3× peak, {peak:.1f}")
    assert answer_number("rag-question-answering", "peak_qps").value == math.ceil(peak / 5) * 5
    prompt_tokens = 400 + 100 + 5 * 300
    assert prompt_tokens == 2_000
    says(t, "instructions 400, question and earlier turns 100, 5 chunks × 300 = 1,500")
    input_b, output_b = 20e6 * prompt_tokens / 1e9, 20e6 * 300 / 1e9
    says(t, f"{input_b:.0f} billion input and {output_b:.0f} billion output tokens a month")
    cost = input_b * 1e3 * 1 + output_b * 1e3 * 4
    says(t, f"{fmt(input_b * 1e3)} + {fmt(output_b * 1e3 * 4)} = {fmt(cost)} USD a month")
    says(t, f"about {cost / 20e6:.4f} USD per answer")


def test_rag_corpus_index_and_storage():
    t = text("rag-question-answering")
    chunks_per_doc = 10e6 / 500_000
    tokens_per_doc = chunks_per_doc * 300
    says(
        t,
        f"{chunks_per_doc:.0f} per document of about 300 tokens",
        f"about {fmt(tokens_per_doc)} tokens per document",
    )
    text_gb = 500_000 * tokens_per_doc * 4 / 1e9
    says(t, f"500,000 × 6,000 × 4 B = {text_gb:.0f} GB of text")
    vectors_gb = 10e6 * 768 * 4 / 1e9
    links_gb = 10e6 * 32 * 4 / 1e9
    says(
        t,
        f"10M chunks × 768 dimensions × 4 B = {vectors_gb:.2f} GB",
        f"10M × 32 × 4 B = {links_gb:.2f} GB",
    )
    says(t, f"would cut them to {10e6 * 768 / 1e9:.2f} GB")
    logs_gb = 20e6 * 10e3 / 1e9
    says(t, f"20M × 10 KB = {logs_gb:.0f} GB a month, kept 90 days: {3 * logs_gb:.0f} GB")
    total = text_gb + vectors_gb + 3 * logs_gb
    says(t, f"12 + 30.72 + 600 ≈ {total:.0f} GB")
    assert answer_number("rag-question-answering", "data_size").value == round(total)
    node = vectors_gb + links_gb + text_gb
    says(t, f"About {node:.0f} GB, inside 64 GB per node")
    assert node < answer_number("rag-question-answering", "memory_constraint").value
    pairs = 20e6 * 0.15
    says(
        t,
        f"20M × 0.15 = {pairs / 1e6:.0f}M a month",
        f"a third remain, {pairs / 3 / 1e6:.0f} million pairs",
    )
    assert answer_number("rag-question-answering", "label_volume").value == pairs / 3 / 1e6


def test_rag_reranker_embedding_and_training_compute():
    t = text("rag-question-answering")
    reranker = encoder_weights(12, 384)
    per_question = 2 * reranker * 350 * 50
    says(
        t,
        f"12 × 12 × 384² ≈ {reranker / 1e6:.2f}M",
        f"≈ {per_question / 1e9:.0f} GFLOPs per question",
    )
    peak = 25 * per_question / 1e12
    says(
        t,
        f"about {peak:.1f} TFLOP/s",
        f"({per_question / 100e12 * 1e3:.1f} ms of compute per question)",
    )
    assert peak / (100 * 0.5) < 1, "one GPU at the 50 % ceiling"
    bi = encoder_weights(12, 768)
    says(t, f"12 × 12 × 768² ≈ {bi / 1e6:.1f}M weights", f"about {2 * bi * 50 / 1e9:.1f} GFLOPs")
    epoch = 3 * 2 * bi * 650 * 1e6
    says(t, f"≈ {epoch / 1e17:.1f} × 10¹⁷ FLOPs, about {round(epoch / 100e12, -2):,.0f} s")
    says(
        t,
        f"{epoch / 100e12 / 3600:.1f} GPU-hours",
        f"3 epochs about {3 * epoch / 100e12 / 3600:.1f}",
    )
    index = 10e6 * 300 * 2 * bi
    says(
        t, f"≈ {index / 1e17:.1f} × 10¹⁷ FLOPs, about {round(index / 100e12, -2):,.0f} GPU-seconds"
    )
    says(t, f"{index / 100e12 / 3600:.1f} GPU-hours")
    daily_chunks = 0.01 * 500_000 * 20
    says(t, f"5,000 × 20 = {fmt(daily_chunks)} chunks")
    assert daily_chunks * 300 * 2 * bi / 100e12 < 60, "under a minute"
    rerank_epoch = 1e6 * 16 * 350 * 3 * 2 * reranker
    says(
        t,
        f"≈ {rerank_epoch / 1e17:.1f} × 10¹⁷ FLOPs, "
        f"about {rerank_epoch / 100e12 / 3600:.1f} GPU-hours",
    )


def test_rag_judge_check_and_ab_sample_size():
    t = text("rag-question-answering")
    half = 1.96 * math.sqrt(0.9 * 0.1 / 300)
    says(t, f"about ±{half * 100:.1f} points")
    p = 0.4
    sigma2 = p * (1 - p)
    n = sample_size(sigma2, 0.01)
    says(
        t,
        f"σ² = 0.4 × 0.6 = {sigma2:.2f}",
        f"16 × {sigma2:.2f} / 0.01² = {fmt(n)} conversations per arm",
    )
    assert answer_number("rag-question-answering", "ab_sample_size").value == n
    per_day = 20e6 / 30
    says(
        t,
        f"about {fmt(round(per_day, -3))} conversations a day",
        f"about {fmt(round(0.05 * per_day, -3))} a day",
    )
    assert n / (0.05 * per_day) < 2


def test_rag_appendix_repeats_the_same_arithmetic():
    t = text("rag-question-answering")
    average = 20e6 / SECONDS_PER_30_DAY_MONTH
    says(t, f"20M questions a month ÷ {fmt(SECONDS_PER_30_DAY_MONTH)} s (a 30-day month)")
    says(
        t,
        f"20M / {fmt(SECONDS_PER_30_DAY_MONTH)} ≈ {average:.1f}; × 3 ≈ {3 * average:.1f}; plan 25",
    )
    says(
        t,
        f"20M × 2,000 = {20e6 * 2_000 / 1e9:.0f}B input, "
        f"20M × 300 = {20e6 * 300 / 1e9:.0f}B output",
    )
    says(t, f"40,000 + 24,000 = {fmt(40_000 * 1 + 6_000 * 4)} USD at the assumed prices")
    says(t, f"10M × 768 × 4 B = {10e6 * 768 * 4 / 1e9:.2f} GB; links {10e6 * 32 * 4 / 1e9:.2f} GB")
    reranker = encoder_weights(12, 384)
    per_question = 2 * reranker * 350 * 50
    says(t, f"2 × {reranker / 1e6:.2f}M × 350 × 50 ≈ {per_question / 1e9:.0f} GFLOPs per question")
    says(t, f"× 25 ≈ {25 * per_question / 1e12:.1f} TFLOP/s")
    says(t, f"16 × 0.24 / 0.0001 = {fmt(sample_size(0.24, 0.01))} conversations per arm")


# --- Second reader: claims and reasoning fixed by the fact-check ---------------------------------


def test_moderation_recalibration_can_undo_the_shift_loss_weights_cause():
    """Up-weighting positives by w adds log(w) to the logit; a scale alone cannot remove it."""
    logits = np.linspace(-6, 4, 11)
    weight = 10.0
    shifted = logits + math.log(weight)
    temperature_fits = [shifted / t for t in (0.5, 1.0, 2.0)]
    assert all(not np.allclose(fit, logits) for fit in temperature_fits)
    assert np.allclose(1.0 * shifted - math.log(weight), logits), "scale and offset undo it"
    t = text("harmful-content-moderation")
    says(t, "Platt scaling, a learned scale and offset on the logit")
    assert "recalibrated by temperature scaling" not in t


def test_fraud_and_search_cite_what_the_sources_say():
    fraud = text("fraud-detection")
    says(fraud, "GDPR Recital 47", "strictly necessary to prevent fraud", "PCI DSS")
    search = text("search-ranking")
    says(search, "`rank:ndcg`", "`ndcg_exp_gain` = true", "(Hu, Wang, Peng and Li, WWW 2019)")
    assert "experimental" not in search, "the XGBoost documentation does not mark it so"


def test_demand_order_covers_lead_time_plus_review_period():
    """An order-up-to level net of stock on hand must cover demand from now, not from delivery."""
    t = text("demand-forecasting")
    says(t, "the lead time plus the time between deliveries")
    says(t, "Order = max(0, τ-quantile of cover demand − stock on hand − stock on order)")
    says(t, "International Journal of Forecasting 38(4), 2022")


def test_rag_fusion_names_the_papers_constant():
    t = text("rag-question-answering")
    says(t, "(Cormack, Clarke and Büttcher, SIGIR 2009", "with k = 60 as in the paper")
