"""New ML-lifecycle concept pages: the anatomy every page follows, and every worked number.

Each number a page states is recomputed here with numpy from its definition, and the test
checks that the page states the recomputed value, so a page cannot drift from its arithmetic.
"""

import math
import re

import numpy as np
import pytest

from apps.concepts.models import Concept
from apps.core.content import FIXTURES_DIR, read_file

NEW_SLUGS = [
    "calibration",
    "embeddings",
    "candidate-retrieval",
    "learning-to-rank",
    "position-bias-and-counterfactual-evaluation",
    "exploration-and-bandits",
]

SECTIONS = [
    "What it is",
    "How it works",
    "Trade-offs",
    "Numbers to know",
    "In an ML system",
    "In a design review",
]


def data(slug: str) -> dict:
    return read_file(FIXTURES_DIR / "concepts" / f"{slug}.md")


def text(slug: str) -> str:
    """The page body with line breaks folded, so a phrase wrapped across lines still matches."""
    return re.sub(r"\s+", " ", data(slug)["body"])


def states(slug: str, *phrases: str) -> None:
    body = text(slug)
    for phrase in phrases:
        assert phrase in body, f"{slug} should state {phrase!r}"


# --- Anatomy -------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", NEW_SLUGS)
def test_new_page_follows_the_anatomy(slug):
    page = data(slug)
    body = page["body"]
    assert len(body.split()) >= 450, "at least 450 words of writing"
    headings = re.findall(r"^## (.+?)\s*$", body, flags=re.MULTILINE)
    assert headings == SECTIONS
    assert page["level"] == "ml-lifecycle"
    assert len(page["summary"]) <= 160
    linked = set(re.findall(r"\[\[([a-z0-9-]+)", body)) - {slug}
    assert len(linked) >= 2, "at least two links to other concepts"
    assert page["references"]
    for reference in page["references"]:
        assert reference["url"].startswith("https://"), reference
    for alias in page["aliases"]:
        if "#" in alias:
            anchor = alias.split("#", 1)[1]
            assert "{#" + anchor + "}" in body, f"{slug}: alias {alias} has no heading"


def test_new_aliases_are_not_already_taken():
    taken = {}
    for kind in ("concepts", "metrics"):
        for path in sorted((FIXTURES_DIR / kind).glob("*.md")):
            page = read_file(path)
            for alias in page.get("aliases") or []:
                taken.setdefault(alias.split("#")[0].lower(), set()).add(path.stem)
            title = page.get("title") or page.get("name")
            taken.setdefault(str(title).lower(), set()).add(path.stem)
    for slug in NEW_SLUGS:
        for alias in data(slug)["aliases"]:
            term = alias.split("#")[0].lower()
            assert taken[term] == {slug}, f"{alias!r} is also used by {taken[term] - {slug}}"


def test_new_pages_take_reading_orders_no_other_ml_page_uses():
    orders = {}
    for path in sorted((FIXTURES_DIR / "concepts").glob("*.md")):
        page = read_file(path)
        if page["level"] == "ml-lifecycle":
            orders.setdefault(page["order"], []).append(path.stem)
    for slug in NEW_SLUGS:
        assert orders[data(slug)["order"]] == [slug]


@pytest.mark.django_db
@pytest.mark.parametrize("slug", NEW_SLUGS)
def test_new_page_loads_without_broken_links(slug):
    concept = Concept.objects.get(slug=slug)
    assert concept.level.slug == "ml-lifecycle"
    assert concept.broken_links == []
    for alias in concept.aliases:
        if "#" in alias:
            assert f'id="{alias.split("#", 1)[1]}"' in concept.body_html, alias


# --- Calibration ---------------------------------------------------------------------------------


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int) -> float:
    """Equal-width bins on [0, 1]; each bin's gap weighted by its share of examples."""
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = index == b
        if inside.any():
            total += inside.mean() * abs(y[inside].mean() - p[inside].mean())
    return total


def test_ece_of_the_same_predictions_depends_on_the_bin_count():
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 1, 0, 1, 0, 1, 1])
    assert expected_calibration_error(p, y, 2) == pytest.approx(0.0, abs=1e-12)
    assert expected_calibration_error(p, y, 4) == pytest.approx(0.15)
    assert expected_calibration_error(p, y, 8) == pytest.approx(0.35)
    # With one prediction per bin, ECE is the mean absolute gap between label and prediction.
    assert np.mean(np.abs(y - p)) == pytest.approx(0.35)
    states(
        "calibration",
        "0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, with labels 0, 0, 1, 0, 1, 0, 1, 1",
        "| 2 | 0.1 to 0.4: mean 0.25, rate 0.25; 0.6 to 0.9: mean 0.75, rate 0.75 | 0 |",
        "| 4 | four pairs, each off by 0.15 | 0.15 |",
        "| 8 | one prediction per bin, so ECE is the mean of $\\lvert y - p \\rvert$ | 0.35 |",
    )


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def test_temperature_scaling_softens_without_changing_the_top_class():
    logits = np.array([2.0, 1.0, 0.0])
    cold, warm = softmax(logits), softmax(logits / 2)
    assert np.argmax(cold) == np.argmax(warm)
    assert f"{cold.max():.3f}" == "0.665"
    assert f"{warm.max():.3f}" == "0.506"
    states(
        "calibration",
        "Logits $(2, 1, 0)$ give a top probability of 0.665; at $T = 2$ they give 0.506",
    )


def downsampled(q, w):
    """What a model trained on all positives and a fraction w of negatives learns."""
    return q / (q + w * (1 - q))


def corrected(p, w):
    return p / (p + (1 - p) / w)


def test_downsampling_correction_inverts_the_sampling_shift():
    q = np.linspace(0.001, 0.999, 999)
    for w in (0.01, 0.025, 0.1, 0.5):
        assert np.allclose(corrected(downsampled(q, w), w), q)
        logit = np.log(q / (1 - q))
        p = downsampled(q, w)
        assert np.allclose(np.log(p / (1 - p)) + np.log(w), logit)
    # The page's check with counts: 1,000,000 impressions at 1 % CTR, 10 % of non-clicks kept.
    clicks, non_clicks = 10_000, 990_000
    kept = non_clicks * 0.1
    assert kept == 99_000
    sample_rate = clicks / (clicks + kept)
    assert sample_rate == pytest.approx(downsampled(0.01, 0.1))
    assert f"{sample_rate:.4f}" == "0.0917"
    assert f"{corrected(0.0917, 0.1):.4f}" == "0.0100"
    assert f"{math.log(0.1):.2f}" == "-2.30"
    states(
        "calibration",
        "$$ q = \\frac{p\\,w}{p\\,w + 1 - p} = \\frac{p}{p + (1 - p)/w} $$",
        "$10{,}000 / 109{,}000 \\approx 0.0917$",
        "$0.0917 / (0.0917 + 0.9083 / 0.1) \\approx 0.0100$",
        "a training rate of about 9.2 %",
        "$\\ln 0.1 \\approx -2.30$",
    )


def test_reweighting_losses_move_the_optimum_away_from_the_true_rate():
    p = np.linspace(1e-4, 1 - 1e-4, 200_001)
    for q in (0.02, 0.1, 0.3, 0.8):
        # Class weight 3 on positives: the minimiser's odds are three times the true odds.
        weighted = -(3 * q * np.log(p) + (1 - q) * np.log(1 - p))
        best = p[np.argmin(weighted)]
        assert best / (1 - best) == pytest.approx(3 * q / (1 - q), rel=1e-3)
        # Focal loss with gamma = 2: the minimiser lies between the true rate and 0.5.
        focal = -(q * (1 - p) ** 2 * np.log(p) + (1 - q) * p**2 * np.log(1 - p))
        best = p[np.argmin(focal)]
        assert min(q, 0.5) < best < max(q, 0.5)
    states(
        "calibration",
        "class weights multiply the odds by the weight ratio",
        "focal loss pulls predictions towards 0.5",
        "This is the correction He et al. (2014) apply after negative downsampling.",
    )


def second_price(bids, ctrs):
    """Generalised second price ranked by bid x pCTR: the winner and its price per click."""
    scores = [b * c for b, c in zip(bids, ctrs, strict=True)]
    winner = int(np.argmax(scores))
    runner_up = max(s for i, s in enumerate(scores) if i != winner)
    return winner, runner_up / ctrs[winner]


def test_auction_example_shows_what_miscalibration_costs():
    bids, true_ctr = [2.00, 1.00], [0.010, 0.015]
    winner, price = second_price(bids, true_ctr)
    assert winner == 0 and price == pytest.approx(1.50)
    calibrated_revenue = true_ctr[winner] * price
    assert calibrated_revenue == pytest.approx(0.015)

    winner, price = second_price(bids, [0.010, 0.030])
    assert winner == 1
    assert f"{price:.2f}" == "0.67"
    skewed_revenue = true_ctr[winner] * price
    assert f"{skewed_revenue:.3f}" == "0.010"
    assert 1 - skewed_revenue / calibrated_revenue == pytest.approx(1 / 3)

    # Doubling every prediction moves neither the winner nor the second price.
    assert second_price(bids, [0.020, 0.030]) == (0, pytest.approx(1.50))
    states(
        "calibration",
        "ad A bidding 2.00 per click with a true CTR of 1.0 % and ad B bidding 1.00 with 1.5 %",
        "$0.015 / 0.010 = 1.50$ per click, which earns 0.015 per impression",
        "$0.020 / 0.030 \\approx 0.67$",
        "$0.015 \\times 0.67 \\approx 0.010$ per impression",
        "revenue falls by a third",
        "the ranks and second prices do not move",
    )


def test_impressions_needed_per_calibration_bin():
    ctr, standard_error = 0.01, 0.001
    n = ctr * (1 - ctr) / standard_error**2
    assert round(n) == 9_900
    states("calibration", "$n = 0.0099 / 10^{-6} = 9{,}900$ impressions in that bin")


# --- Embeddings ----------------------------------------------------------------------------------


def test_embedding_table_memory_with_and_without_optimizer_state():
    rows, dim, float32 = 10**9, 64, 4
    table = rows * dim * float32
    assert table / 1e9 == 256
    assert 3 * table / 1e9 == 768  # Adam: the weights plus two moments per parameter
    assert 2 * table / 1e9 == 512  # AdaGrad: the weights plus one accumulator
    assert 10**8 * 32 * float32 / 1e9 == pytest.approx(12.8)
    assert dim * float32 == 256  # bytes read by one lookup
    states(
        "embeddings",
        "$10^9 \\times 64 \\times 4 = 256$ GB",
        "the table needs 768 GB while it trains; AdaGrad keeps one, for 512 GB",
        "$10^8$ buckets × 32 dimensions in float32 is 12.8 GB",
        "reads 256 bytes",
    )


def collision_share(ids: int, buckets: int) -> float:
    """Probability that one ID shares its bucket with at least one of the other ids - 1."""
    return 1 - (1 - 1 / buckets) ** (ids - 1)


def test_hashing_collision_rates():
    n = 10**7
    assert f"{collision_share(n, n):.0%}" == "63%"
    assert f"{(1 - 1 / n) ** n:.0%}" == "37%"  # share of buckets no ID lands in
    assert f"{collision_share(n, 10 * n):.1%}" == "9.5%"
    # The page's approximation 1 - exp(-n/m) agrees to three decimals.
    assert collision_share(n, n) == pytest.approx(1 - math.exp(-1), abs=1e-3)
    states(
        "embeddings",
        "about 63 % of IDs share a row while about 37 % of rows stay empty",
        "brings sharing down to about 9.5 %",
    )


def test_feature_cross_and_dimension_rules_of_thumb():
    assert 200 * 4 == 800
    assert round(10_000**0.25, 9) == 10
    assert round(1_000_000**0.25) == 32
    fastai = [min(600, round(1.6 * n**0.56)) for n in (10_000, 1_000_000)]
    assert fastai == [278, 600]
    states(
        "embeddings",
        "200 × 4 = 800 values",
        "10 dimensions for 10,000 values, about 32 for a million",
        "278 for 10,000 values and the 600 cap for a million",
    )


# --- Candidate retrieval -------------------------------------------------------------------------


def test_exact_scan_cost_rules_out_brute_force_at_scale():
    items, dim, float32, qps = 10**7, 64, 4, 1_000
    assert items * dim == 640_000_000  # multiply-adds per query
    per_query = items * dim * float32
    assert per_query / 1e9 == pytest.approx(2.56)
    assert per_query * qps / 1e12 == pytest.approx(2.56)
    states(
        "candidate-retrieval",
        "640 million multiply-adds and 2.56 GB read from memory per query; at 1,000 QPS that is "
        "2.56 TB/s",
    )


def test_hnsw_and_ivf_pq_memory():
    items, dim, links = 10**7, 64, 32
    hnsw = dim * 4 + links * 2 * 4  # Faiss IndexHNSWFlat, bytes per vector
    assert hnsw == 512
    assert items * hnsw / 1e9 == pytest.approx(5.12)
    flat = dim * 4
    assert hnsw / flat == 2
    pq = 16 + 8  # 16 one-byte codes and a 64-bit id
    assert items * pq / 1e6 == pytest.approx(240)
    assert f"{flat / pq:.1f}" == "10.7"
    states(
        "candidate-retrieval",
        "$256 + 256 = 512$ bytes per vector, 5.12 GB for 10 million items",
        "24 bytes per vector, 240 MB for 10 million items, about 10.7 times less",
        "about twice flat at $M = 32$, $d = 64$",
    )


def test_ivf_list_sizes_and_training_sample():
    items, lists, nprobe = 10**7, 65_536, 64
    per_list = items / lists
    assert round(per_list) == 153
    scanned = nprobe * per_list
    assert round(scanned, -2) == 9_800
    assert f"{scanned / items:.1%}" == "0.1%"
    assert round(30 * lists, -6) == 2_000_000
    states(
        "candidate-retrieval",
        "about 153 vectors per list at 10 million, so `nprobe` = 64 scans about 9,800 codes, "
        "0.1 % of the catalogue",
        "$30 \\times 65{,}536 \\approx 2$ million vectors",
    )


def test_logq_correction_offsets_how_often_an_item_is_a_negative():
    frequent, rare = 0.1, 1e-4
    assert f"{-math.log(frequent):.2f}" == "2.30"
    assert f"{-math.log(rare):.2f}" == "9.21"
    weight_ratio = math.exp(-math.log(rare) - -math.log(frequent))
    assert weight_ratio == pytest.approx(1_000)
    # Expected pull on the softmax denominator: appearances x exp(corrected logit). With equal
    # raw scores, the correction makes it the same for both items.
    score = 0.7
    pulls = [p * math.exp(score - math.log(p)) for p in (frequent, rare)]
    assert pulls[0] == pytest.approx(pulls[1])
    assert f"{math.log(10_000) - math.log(10):.1f}" == "6.9"
    states(
        "candidate-retrieval",
        "$-\\log 0.1 \\approx 2.30$",
        "$-\\log 10^{-4} \\approx 9.21$",
        "$e^{9.21 - 2.30} = 1{,}000$ times less",
        "$\\ln 10{,}000 - \\ln 10 \\approx 6.9$ logits",
    )


# --- Learning to rank ----------------------------------------------------------------------------


def dcg(grades) -> float:
    """Exponential gain 2^g - 1 and discount 1 / log2(1 + rank), as in LambdaMART."""
    grades = np.asarray(grades, dtype=float)
    discounts = 1 / np.log2(np.arange(2, len(grades) + 2))
    return float(np.sum((2**grades - 1) * discounts))


def test_lambda_weights_favour_swaps_at_the_top():
    current = [1, 3, 0, 2]
    ideal = dcg(sorted(current, reverse=True))
    ndcg = dcg(current) / ideal
    top = dcg([3, 1, 0, 2]) / ideal
    bottom = dcg([1, 3, 2, 0]) / ideal
    assert f"{ndcg:.3f}" == "0.714"
    assert f"{top:.3f}" == "0.950" and f"{top - ndcg:.3f}" == "0.236"
    assert f"{bottom:.3f}" == "0.736" and f"{bottom - ndcg:.3f}" == "0.022"
    assert round((top - ndcg) / (bottom - ndcg)) == 11

    # The closed form |G_i - G_j| |D_i - D_j| / IDCG gives the same changes.
    gain = [2**g - 1 for g in current]
    discount = [1 / math.log2(1 + rank) for rank in range(1, 5)]
    for (i, j), change in [((0, 1), top - ndcg), ((2, 3), bottom - ndcg)]:
        closed = abs(gain[i] - gain[j]) * abs(discount[i] - discount[j]) / ideal
        assert closed == pytest.approx(change)
    states(
        "learning-to-rank",
        "grades 1, 3, 0, 2, with gain $2^g - 1$",
        "NDCG is 0.714. Swapping the first two items would raise it to 0.950, a change of 0.236;"
        " swapping the last two would raise it to 0.736, a change of 0.022",
        "about 11 times harder",
        "a top swap moves NDCG by 0.236 and a bottom swap by 0.022, about 11 times less",
    )


def test_ranknet_gradient_depends_only_on_the_score_gap():
    def gradient(s_i, s_j):  # d/ds_i of -log sigmoid(s_i - s_j)
        return -1 / (1 + math.exp(s_i - s_j))

    assert gradient(2.0, 1.5) == pytest.approx(gradient(-0.3, -0.8))

    # A misordered pair (s_i <= s_j) costs at least ln 2, so loss / ln 2 bounds the count.
    gaps = np.linspace(-10, 10, 2_001)
    losses = np.log1p(np.exp(-gaps))
    assert np.all(losses[gaps <= 0] >= math.log(2) - 1e-12)
    assert np.all(losses > 0)
    states(
        "learning-to-rank",
        "A misordered pair costs at least $\\ln 2$, so the summed loss divided by $\\ln 2$"
        " is a smooth upper bound on the number of misordered pairs",
    )


def test_share_of_misordered_pairs_is_one_minus_auc():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 40)
    scores = rng.normal(size=40) + labels
    positives, negatives = scores[labels == 1], scores[labels == 0]
    misordered = np.mean(positives[:, None] < negatives[None, :])
    ranks = scores.argsort().argsort() + 1  # no ties in continuous scores
    n_pos, n_neg = len(positives), len(negatives)
    auc = (ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert misordered == pytest.approx(1 - auc)
    states("learning-to-rank", "the share of misordered pairs is one minus the query's")


def test_pair_counts_discounts_and_label_gains():
    assert 100 * 99 // 2 == 4_950
    assert f"{1 / math.log2(3):.2f}" == "0.63"
    assert f"{1 / math.log2(11):.2f}" == "0.29"
    assert [2**g - 1 for g in range(5)] == [0, 1, 3, 7, 15]
    states(
        "learning-to-rank",
        "4,950 for 100 candidates",
        "1 at rank 1, 0.63 at rank 2, 0.29 at rank 10",
        "0, 1, 3, 7, 15, so a grade-4 item is worth 15 grade-1 items",
    )


# --- Position bias and counterfactual evaluation -------------------------------------------------

POSITION = "position-bias-and-counterfactual-evaluation"


def test_inverse_propensity_weight_recovers_relevance():
    examine = {1: 1.0, 5: 0.2}
    relevance = 0.1
    ctr = {k: theta * relevance for k, theta in examine.items()}
    assert ctr[1] == pytest.approx(0.10) and ctr[5] == pytest.approx(0.02)
    assert ctr[5] / examine[5] == pytest.approx(relevance)
    states(POSITION, "a 10 % click rate at the top and 2 % at rank 5", "$0.02 \\times 5 = 0.1")


def ips(rewards, target, logged) -> float:
    weights = np.asarray(target, float) / np.asarray(logged, float)
    return float(np.mean(weights * rewards))


def test_ips_estimates_a_policy_that_never_ran():
    rng = np.random.default_rng(11)
    n = 200_000
    shows_b = rng.random(n) < 0.2
    clicks = np.where(shows_b, rng.random(n) < 0.08, rng.random(n) < 0.05)
    logged = np.where(shows_b, 0.2, 0.8)
    estimate = ips(clicks, shows_b.astype(float), logged)
    assert estimate == pytest.approx(0.08, abs=0.003)
    # The page's round numbers: 16 clicks in 200 showings of B out of 1,000 requests.
    clicks_on_b, weight = 16, 1 / 0.2
    assert round(clicks_on_b * weight / 1_000, 9) == 0.08
    effective = (200 * 5) ** 2 / (200 * 5**2)
    assert effective == 200
    states(
        POSITION,
        "$\\hat V = 16 \\times 5 / 1{,}000 = 0.08$",
        "the 200 weights of 5 above are worth 200 samples",
    )


def test_ips_standard_error_grows_as_the_logging_probability_shrinks():
    p, n = 0.08, 1_000

    def standard_error(mu):
        return math.sqrt((p / mu - p**2) / n)

    assert f"{standard_error(0.2):.3f}" == "0.020"
    assert f"{standard_error(0.01):.3f}" == "0.089"
    # A simulation agrees with the formula.
    rng = np.random.default_rng(3)
    mu, runs = 0.01, 4_000
    shown = rng.random((runs, n)) < mu
    clicked = rng.random((runs, n)) < p
    estimates = (shown & clicked).sum(axis=1) / mu / n
    assert estimates.std() == pytest.approx(standard_error(mu), rel=0.05)
    states(POSITION, "about 0.020 at $\\mu = 0.2$ and 0.089 at $\\mu = 0.01$")


def test_clipping_and_self_normalising_tame_a_ten_request_log():
    # Ten requests; the new policy agrees with the log on three of them.
    weights = np.array([1 / 0.5, 1 / 0.5, 1 / 0.05])
    clicks = np.array([0, 0, 1])
    n = 10
    assert (weights * clicks).sum() / n == pytest.approx(2.0)
    assert f"{(weights * clicks).sum() / weights.sum():.2f}" == "0.83"
    assert (np.minimum(weights, 10) * clicks).sum() / n == pytest.approx(1.0)
    assert f"{weights.sum() ** 2 / (weights**2).sum():.1f}" == "1.4"
    states(
        POSITION,
        "IPS gives $20 / 10 = 2.0$, an impossible click rate, and the effective sample size is 1.4",
        "At $M = 10$ the estimate is 1.0",
        "$20 / 24 = 0.83$",
    )


def team_draft(a, b, a_first_each_round):
    """Team-draft interleaving with the coin tosses given; returns [(item, team), ...]."""
    merged, teams = [], []
    for a_first in a_first_each_round:
        for team, ranking in (("A", a), ("B", b)) if a_first else (("B", b), ("A", a)):
            pick = next(item for item in ranking if item not in merged)
            merged.append(pick)
            teams.append(team)
    return list(zip(merged, teams, strict=True))


def test_team_draft_example_and_its_significance():
    merged = team_draft(["a", "b", "c", "d"], ["b", "e", "a", "f"], [True, False])
    assert merged == [("a", "A"), ("b", "B"), ("e", "B"), ("c", "A")]
    z = (540 - 500) / math.sqrt(1_000 * 0.25)
    p_value = math.erfc(z / math.sqrt(2))
    assert f"{z:.2f}" == "2.53"
    assert f"{p_value:.3f}" == "0.011"
    # Exact two-sided binomial test at p = 0.5: twice the upper tail P(X >= 540).
    upper_tail = sum(math.comb(1_000, k) for k in range(540, 1_001)) / 2**1_000
    assert f"{2 * upper_tail:.3f}" == "0.012"
    states(
        POSITION,
        "the list is a (A), b (B), e (B), c (A)",
        "$z = 40 / \\sqrt{1{,}000 \\times 0.25} \\approx 2.53$, two-sided $p \\approx 0.011$"
        " by the normal approximation (an exact binomial test gives 0.012)",
    )


def test_position_page_avoids_words_the_glossary_would_misread():
    body = text(POSITION).lower()
    # "logging" links to logging infrastructure and "sensitivity" to the recall metric.
    assert "logging" not in body
    assert "sensitivity" not in body


# --- Exploration and bandits ---------------------------------------------------------------------

BANDITS = "exploration-and-bandits"


def test_epsilon_greedy_propensities_and_weight_cap():
    arms, epsilon = 5, 0.1
    greedy = 1 - epsilon + epsilon / arms
    other = epsilon / arms
    assert greedy == pytest.approx(0.92) and other == pytest.approx(0.02)
    assert greedy + (arms - 1) * other == pytest.approx(1)
    assert round(1 / other) == arms / epsilon == 50
    states(
        BANDITS,
        "$1 - \\varepsilon + \\varepsilon/K = 0.92$ and each other arm with $0.02$",
        "caps the weights at $K/\\varepsilon$, 50 for the example above",
    )


def test_regret_of_an_even_split_against_epsilon_greedy():
    impressions, gap, arms, epsilon = 10**6, 0.05 - 0.03, 5, 0.1
    even_split = (arms - 1) / arms * gap * impressions
    greedy = epsilon * (arms - 1) / arms * gap * impressions
    assert round(even_split) == 16_000
    assert round(greedy) == 1_600
    states(
        BANDITS,
        "Five arms, one at 5 % and four at 3 % click rate, one million impressions",
        "$0.8 \\times 0.02 \\times 10^6 = 16{,}000$ clicks",
        "$0.1 \\times 0.8 \\times 0.02 \\times 10^6 = 1{,}600$",
    )


def test_ucb1_bonus_picks_the_less_pulled_arm():
    total = 1_000

    def index(mean, pulls):
        return mean + math.sqrt(2 * math.log(total) / pulls)

    assert f"{math.sqrt(2 * math.log(total) / 800):.3f}" == "0.131"
    assert f"{math.sqrt(2 * math.log(total) / 200):.3f}" == "0.263"
    assert f"{index(0.050, 800):.3f}" == "0.181"
    assert f"{index(0.045, 200):.3f}" == "0.308"
    assert index(0.045, 200) > index(0.050, 800)
    states(
        BANDITS,
        "scores $0.050 + 0.131 = 0.181$",
        "scores $0.045 + 0.263 = 0.308$ and is chosen",
        "0.131 for an arm pulled 800 times, 0.263 for one pulled 200 times",
    )


def beta_density(x, a, b):
    log_norm = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    return np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - log_norm)


def test_thompson_sampling_keeps_choosing_the_uncertain_arm():
    # P(theta_B > theta_A) = integral of f_B(x) F_A(x) dx, on a fine grid.
    x = np.linspace(1e-6, 0.3, 300_001)
    dx = x[1] - x[0]
    density_a = beta_density(x, 1 + 40, 1 + 760)
    density_b = beta_density(x, 1 + 9, 1 + 191)
    assert density_a.sum() * dx == pytest.approx(1, abs=1e-6)
    b_best = float(np.sum(density_b * np.cumsum(density_a) * dx) * dx)
    assert round(b_best * 100) == 44
    # The same from sampling, as Thompson sampling itself would estimate it.
    rng = np.random.default_rng(5)
    draws = rng.beta(10, 192, 400_000) > rng.beta(41, 761, 400_000)
    assert draws.mean() == pytest.approx(b_best, abs=0.005)
    assert 41 / 802 > 10 / 202  # the first arm has the higher posterior mean
    states(
        BANDITS,
        "$\\mathrm{Beta}(41, 761)$ and $\\mathrm{Beta}(10, 192)$",
        "the second arm is chosen about 44 % of the time",
    )


def test_linucb_scoring_cost():
    d = 100
    assert d * d == 10_000
    states(BANDITS, "about $d^2$ multiply-adds: 10,000 at $d = 100$")
