"""The calculators of the calibration, operating-point, forecasting, recommendation, language and
business pages in HTML, and the chooser and the wizard's step 4 knowing those metrics."""

import re

import pytest

from apps.designdocs import picker
from apps.designdocs.models import Answer, DesignDoc, Prompt
from apps.metrics import chooser
from apps.metrics.forms import FORM_MAX_BINS, FORMS
from apps.metrics.models import Metric

pytestmark = pytest.mark.django_db

NEW_PAGES = {
    "calibration-error": "calibration", "brier-score": "calibration",
    "prevalence": "prevalence", "precision-at-recall": "operating-point",
    "top-k-accuracy": "top-k-accuracy", "mape": "percentage-errors",
    "pinball-loss": "pinball-loss", "hit-rate-at-k": "hit-rate",
    "coverage-and-diversity": "coverage", "perplexity": "perplexity", "bleu": "bleu",
    "word-error-rate": "word-error-rate", "fraud-loss-rate": "fraud-loss-rate",
    "search-success-rate": "search-success", "gross-merchandise-value": "gmv", "ecpm": "ecpm",
}  # fmt: skip


def errors_at(text: str, field: str) -> str:
    found = re.search(rf'id="id_{field}_error"[^>]*role="alert">(.*?)</div>', text, re.S)
    return found.group(1) if found else ""


@pytest.mark.parametrize(("slug", "calculator"), sorted(NEW_PAGES.items()))
def test_each_new_page_shows_its_calculator_computed_on_the_worked_example(
    client, slug, calculator
):
    metric = Metric.objects.get(slug=slug)
    assert metric.calculator == calculator and calculator in FORMS
    text = client.get(f"/metrics/{slug}/").text
    assert 'id="calculator"' in text and "Filled in with the worked example" in text
    assert 'id="calculator-results"' in text
    assert "Fix the fields marked above" not in text, "the worked example computes cleanly"
    assert "undefined" not in text.split('id="calculator-results"')[1].split("</section>")[0]


@pytest.mark.parametrize(
    ("slug", "data", "shown"),
    [
        ("calibration-error", {"y_true": "0 1 1 0", "y_prob": "0.1 0.8 0.6 0.4", "n_bins": "2"},
         'data-key="ece">0.2750<'),
        ("precision-at-recall", {"y_true": "1 1 0 1 0 0", "y_score": ".9 .8 .7 .6 .3 .1",
         "target_recall": "1", "target_precision": "0.9"},
         'data-key="precision_at_recall.value">0.7500<'),
        ("top-k-accuracy", {"y_true": "0, 2", "y_score": "0.5, 0.3, 0.2\n0.6, 0.1, 0.3", "k": "2"},
         'data-key="top_k_accuracy">1.0000<'),
        ("prevalence", {"positives": "200", "total": "100000", "recall": "0.9",
         "specificity": "0.99"}, 'data-key="precision">0.1528<'),
        ("mape", {"y_true": "100 50 10 200", "y_pred": "110 40 20 190"},
         'data-key="wape">0.1111<'),
        ("pinball-loss", {"y_true": "10 12 8 15 9", "y_pred": "15 15 15 15 15", "alpha": "0.9"},
         'data-key="pinball_loss">0.4200<'),
        ("hit-rate-at-k", {"y_true": "1 0 1 1 1", "y_score": ".9 .8 .3 .2 .1", "k": "2"},
         'data-key="recall_at_k">0.2500<'),
        ("coverage-and-diversity", {"recommendations": "a, b\na, c", "catalog_size": "4",
         "categories": "x x\nx y"}, 'data-key="intra_list_diversity">0.5000<'),
        ("perplexity", {"logprobs": "-1.3862943611198906 -1.3862943611198906"},
         'data-key="perplexity">4.0000<'),
        ("bleu", {"hypotheses": "the cat sat on the mat", "references": "the cat is on the mat",
         "smooth_method": "exp"}, 'data-key="bleu">37.99<'),
        ("word-error-rate", {"references": "the cat sat on the mat\nturn the lights off\n",
         "hypotheses": "the cat sit on mat\nturn the light off please"}, 'data-key="wer">0.4000<'),
        ("fraud-loss-rate", {"fraud_losses": "42000", "payment_volume": "60000000"},
         'data-key="fraud_loss_bps">7.0000<'),
        ("search-success-rate", {"sessions": "200", "successful_sessions": "130"},
         'data-key="search_success_rate">0.6500<'),
        ("gross-merchandise-value", {"order_values": "25, 40, 35, 100",
         "marketplace_revenue": "20"}, 'data-key="take_rate">0.1000<'),
        ("ecpm", {"revenue": "37.5", "impressions": "15000", "clicks": "45"},
         'data-key="ecpm">2.5000<'),
    ],
)  # fmt: skip
def test_new_calculators_compute_by_plain_post_and_by_htmx(client, slug, data, shown):
    page = client.post(f"/metrics/{slug}/calculate/", data)
    assert page.status_code == 200 and "<html" in page.text
    assert shown in page.text
    fragment = client.post(f"/metrics/{slug}/calculate/", data, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="calculator-results"')
    assert shown in fragment.text


def test_the_reliability_diagram_is_an_svg_with_a_dot_per_bin_and_the_diagonal(client):
    data = {"y_true": "0 0 1 1 1 0", "y_prob": "0.05 0.15 0.55 0.65 0.95 0.85", "n_bins": "5"}
    text = client.post("/metrics/calibration-error/calculate/", data).text
    title = 'aria-labelledby="chart-reliability-diagram-title"'
    svg = re.search(rf'<svg class="chart"[^>]*{title}.*?</svg>', text, re.S)
    assert svg, "a reliability diagram"
    # Bins 0-0.2, 0.4-0.6, 0.6-0.8 and 0.8-1 hold predictions; 0.2-0.4 is empty and left out.
    assert svg.group().count('<circle class="marker"') == 4
    assert '<line class="chance"' in svg.group()
    assert "<title>0.8–1: 2 predictions, mean 0.900, share of 1s 0.500</title>" in svg.group()


@pytest.mark.parametrize(
    ("slug", "data", "field", "message"),
    [
        ("calibration-error", {"y_true": "0 1", "y_prob": "0.5 1.5", "n_bins": "5"}, "y_prob",
         "is not a probability"),
        ("calibration-error", {"y_true": "0 1", "y_prob": "0.5 0.5", "n_bins": "500"}, "n_bins",
         f"less than or equal to {FORM_MAX_BINS}"),
        ("top-k-accuracy", {"y_true": "0 1", "y_score": "0.5, 0.5\n0.2", "k": "1"}, "y_score",
         "row 2 has 1 scores"),
        ("bleu", {"hypotheses": "a\nb", "references": "a"}, "references",
         "1 lines here and 2 outputs"),
        ("word-error-rate", {"references": "a " * 101, "hypotheses": "a"}, "references",
         "at most 100"),
        ("coverage-and-diversity", {"recommendations": "1, 2, 3", "catalog_size": "2"},
         "catalog_size", "3 distinct items"),
        ("fraud-loss-rate", {"fraud_losses": "1", "payment_volume": "10", "false_declines": "3"},
         "legitimate_attempts", "give both"),
        ("perplexity", {"logprobs": "-0.5 0.25"}, "logprobs", "is above 0"),
    ],
)  # fmt: skip
def test_bad_input_is_explained_at_the_field_and_kept(client, slug, data, field, message):
    response = client.post(f"/metrics/{slug}/calculate/", data)
    assert response.status_code == 200
    errors = errors_at(response.text, field)
    assert message in errors, errors
    for value in data.values():
        assert value.strip().split("\n")[0] in response.text, "the input stays in the form"


def test_bleu_takes_a_second_reference_for_each_line(client):
    one = client.post(
        "/metrics/bleu/calculate/",
        {"hypotheses": "the cat sat on the mat", "references": "the cat is on the mat"},
    ).text
    two = client.post(
        "/metrics/bleu/calculate/",
        {"hypotheses": "the cat sat on the mat", "references": "the cat is on the mat",
         "second_references": "the cat sat on a mat"},
    ).text  # fmt: skip
    score = re.compile(r'data-key="bleu">([\d.]+)<')
    assert float(score.search(two).group(1)) > float(score.search(one).group(1))


def test_the_metric_list_has_a_language_family_with_its_three_pages(client):
    text = client.get("/metrics/").text
    section = text.split("Language and speech</h2>")[1].split("</h2>")[0]
    for slug in ("perplexity", "bleu", "word-error-rate"):
        assert f'href="/metrics/{slug}/"' in section, slug


def test_prevalence_says_it_is_neither_better_high_nor_low(client):
    text = client.get("/metrics/prevalence/").text
    assert "<dt>Direction</dt><dd>Neither: it describes the data, not a model</dd>" in text


# --- The chooser ---------------------------------------------------------------------------------


def recommended(advice) -> dict[str, list[str]]:
    return {
        group: [item.slug for item in getattr(advice, group)]
        for group in ("offline", "online", "system")
    }


def test_the_chooser_recommends_calibration_and_the_auction_metric_for_ads_ctr():
    advice = recommended(chooser.recommend("binary", imbalance="severe", ranked=True))
    assert {"calibration-error", "brier-score", "log-loss"} <= set(advice["offline"])
    assert "ecpm" in advice["online"] and "fraud-loss-rate" not in advice["online"]


def test_the_chooser_recommends_operating_points_and_fraud_losses_for_rare_positives():
    advice = recommended(chooser.recommend("binary", imbalance="severe", costlier="fn"))
    assert {"precision-at-recall", "prevalence", "calibration-error"} <= set(advice["offline"])
    assert "fraud-loss-rate" in advice["online"] and "ecpm" not in advice["online"]
    balanced = recommended(chooser.recommend("binary"))
    assert "precision-at-recall" not in balanced["offline"]
    assert "fraud-loss-rate" not in balanced["online"]


def test_the_chooser_recommends_forecasting_recommender_and_language_metrics():
    assert {"mape", "pinball-loss"} <= set(recommended(chooser.recommend("regression"))["offline"])
    ranking = recommended(chooser.recommend("ranking"))
    assert {"hit-rate-at-k", "coverage-and-diversity"} <= set(ranking["offline"])
    assert {"search-success-rate", "gross-merchandise-value"} <= set(ranking["online"])
    assert "top-k-accuracy" in recommended(chooser.recommend("multiclass"))["offline"]
    language = recommended(chooser.recommend("language"))
    assert language["offline"] == ["bleu", "word-error-rate", "perplexity"]


def test_every_recommended_metric_has_a_page():
    slugs = set()
    for task, _ in chooser.TASKS:
        for imbalance, _ in chooser.IMBALANCE:
            for ranked in (False, True):
                advice = chooser.recommend(task, imbalance=imbalance, ranked=ranked)
                slugs |= {slug for group in recommended(advice).values() for slug in group}
    existing = set(Metric.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    assert slugs == existing, slugs - existing


def test_the_chooser_page_offers_the_language_task_and_links_its_metrics(client):
    page = client.get("/metrics/choose/")
    assert 'value="language"' in page.text
    answer = client.get("/metrics/choose/", {"task": "language"}).text
    for slug in ("bleu", "word-error-rate", "perplexity"):
        assert f'href="/metrics/{slug}/"' in answer, slug


# --- The wizard's step 4 -------------------------------------------------------------------------


@pytest.fixture
def doc(alice):
    return DesignDoc.objects.create(owner=alice, title="Payments fraud", problem="Stop fraud.")


def answer(doc, key, value):
    return Answer.objects.create(doc=doc, prompt=Prompt.objects.get(key=key), value=value)


def offered(doc, key) -> dict[str, str]:
    answers = {a.prompt.key: a for a in doc.answers.select_related("prompt")}
    options, _ = picker.options(Prompt.objects.get(key=key), answers)
    return {option.metric.slug: option.reason for option in options}


def test_step_4_offers_and_recommends_the_new_classification_metrics_for_fraud(doc):
    answer(doc, "model_type", "binary")
    answer(doc, "class_imbalance", "severe")
    offline = offered(doc, "offline_metrics")
    for slug in ("calibration-error", "brier-score", "prevalence", "precision-at-recall",
                 "top-k-accuracy"):  # fmt: skip
        assert slug in offline, slug
    assert offline["precision-at-recall"] and offline["calibration-error"], "recommended"
    assert "bleu" not in offline, "narrowed to the model type's family"
    business = offered(doc, "business_metrics")
    for slug in ("fraud-loss-rate", "search-success-rate", "gross-merchandise-value", "ecpm"):
        assert slug in business, slug
    assert business["fraud-loss-rate"], "recommended for a rare-positive classifier"


def test_step_4_offers_forecasting_recommender_and_language_metrics(doc):
    answer(doc, "model_type", "regression")
    assert {"mape", "pinball-loss"} <= offered(doc, "offline_metrics").keys()
    Answer.objects.filter(doc=doc).delete()
    answer(doc, "model_type", "ranking")
    ranking = offered(doc, "offline_metrics")
    assert ranking["hit-rate-at-k"] and ranking["coverage-and-diversity"]
    Answer.objects.filter(doc=doc).delete()
    everything = offered(doc, "offline_metrics")
    assert {"bleu", "word-error-rate", "perplexity"} <= everything.keys()


def test_bleu_can_ignore_case(client):
    data = {"hypotheses": "The Cat sat on the mat", "references": "the cat sat on the mat"}
    as_written = client.post("/metrics/bleu/calculate/", data).text
    ignoring = client.post("/metrics/bleu/calculate/", {**data, "case": "lower"}).text
    assert 'data-key="bleu">100.00<' not in as_written
    assert 'data-key="bleu">100.00<' in ignoring and "case ignored" in ignoring
