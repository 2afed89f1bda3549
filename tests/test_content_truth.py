"""Claims in the knowledge base that a line-by-line review found wrong, pinned once corrected.

Each test reads the fixture text and checks that the corrected statement is there and the wrong
one is gone. Where the page states a number, the test computes it (with numpy or with
``apps.metrics.computations``, the module behind the calculators) instead of copying it.
"""

import math
import re

import numpy as np
import pytest

from apps.core.content import FIXTURES_DIR, read_file
from apps.metrics import computations
from apps.metrics.models import Metric


def page(kind: str, slug: str) -> str:
    """All the prose of one fixture: summary, body, reference titles and example answers."""
    data = read_file(FIXTURES_DIR / kind / f"{slug}.md")
    parts = [str(data.get("summary", "")), data["body"]]
    parts += [ref["title"] for ref in data.get("references") or []]
    parts += [str(answer) for answer in (data.get("answers") or {}).values()]
    return "\n".join(parts)


def every_page() -> dict[str, str]:
    return {
        f"{kind}/{path.stem}": page(kind, path.stem)
        for kind in ("concepts", "metrics", "examples")
        for path in sorted((FIXTURES_DIR / kind).glob("*.md"))
    }


def one_line(text: str) -> str:
    """Text with line breaks folded, so a phrase wrapped across lines still matches."""
    return re.sub(r"\s+", " ", text)


# --- Systems pages -------------------------------------------------------------------------------


def test_fencing_tokens_use_czxid_or_cversion_not_the_data_version():
    text = one_line(page("concepts", "leader-election"))
    assert "a ZooKeeper znode version" not in text
    assert "`czxid`" in text and "`cversion`" in text
    assert "starts again at 0 in every newly created lock node" in text


def test_raft_commits_only_current_term_entries_by_counting_replicas():
    text = one_line(page("concepts", "leader-election"))
    assert "An entry is committed once a majority stores it." not in text
    assert "only for entries of its own current term" in text
    assert "§5.4.2" in text and "Figure 8" in text


def test_vizier_separates_the_60_trial_arithmetic_from_bergstra_and_bengio():
    text = one_line(page("concepts", "vizier"))
    miss = 0.95**60
    assert f"{miss * 100:.1f} %" == "4.6 %"
    assert "4.6 %" in text
    assert "This is the argument of Bergstra and Bengio" not in text
    assert "not the argument of Bergstra and Bengio" in text
    assert "low effective dimensionality" in text


def test_vizier_2017_default_was_expected_improvement_not_ucb():
    text = one_line(page("concepts", "vizier"))
    assert "One common choice is the upper confidence bound" not in text
    assert "batched GP bandits, with a Matérn kernel and expected improvement" in text
    # Golovin et al., KDD 2017, section 3: the GP default is for studies under a thousand
    # trials; for tens of thousands or more the paper recommends a proprietary local search.
    assert "studies with under a thousand trials" in text
    assert "recommended a proprietary local-search algorithm" in text
    assert "for all but very large studies" not in text
    assert "GP bandit with UCB inside a trust region" in text
    assert "arxiv.org/abs/2408.11527" in (FIXTURES_DIR / "concepts" / "vizier.md").read_text()


def test_kafka_idempotence_default_is_dated_by_kafka_13598():
    kafka = one_line(page("concepts", "kafka"))
    pubsub = one_line(page("concepts", "publish-subscribe"))
    assert "on by default since Kafka 3.0" not in kafka
    assert "on by default since 3.0)" not in pubsub
    for text in (kafka, pubsub):
        assert "KAFKA-13598" in text
        assert "3.0.1, 3.1.1 and 3.2.0" in text
    # ProducerConfig logs the switch-off (INFO for acks and retries) but raises nothing.
    assert "switched off, with no error and only a line in the producer's startup log" in kafka
    assert "without a warning" not in kafka
    assert "switched off, with no error, when `enable.idempotence` is unset" in pubsub
    assert "silently off" not in pubsub


def test_kafka_offsets_have_gaps_and_the_high_watermark_is_one_past():
    text = one_line(page("concepts", "kafka"))
    assert "0-based position" not in text
    assert "not dense positions" in text and "transaction's commit or abort marker" in text
    assert "the last offset copied to the whole ISR" not in text
    assert "one past the offset of the last record every ISR member has copied" in text


def test_forward_secrecy_in_tls_12_and_tls_13_psk_modes():
    text = one_line(page("concepts", "https-tls"))
    assert "only with ECDHE suites" not in text
    assert "| only with ephemeral DHE or ECDHE suites |" in text
    assert "`psk_ke`" in text and "`psk_dhe_ke`" in text
    assert "That early data is not forward-secret" in text


def test_health_check_ejection_with_default_settings():
    text = one_line(page("concepts", "load-balancing"))
    alb_interval_s, alb_unhealthy_threshold = 30, 2  # AWS ALB target-group defaults
    k8s_period_s, k8s_failure_threshold = 10, 3  # Kubernetes probe defaults
    assert alb_interval_s * alb_unhealthy_threshold == 60
    assert k8s_period_s * k8s_failure_threshold == 30
    assert "about 60 s behind an AWS ALB (30 s × 2)" in text
    assert "about 30 s for a Kubernetes readiness probe (10 s × 3)" in text
    assert "typically 10 to 30 s with default-like settings" not in text


def _ring_loads(servers: int, vnodes: int, rng: np.random.Generator) -> np.ndarray:
    """Share of a unit hash ring owned by each server with ``vnodes`` virtual nodes apiece."""
    points = rng.random(servers * vnodes)
    owner = np.repeat(np.arange(servers), vnodes)
    order = np.argsort(points)
    points, owner = points[order], owner[order]
    # A key belongs to the first point clockwise from it, so a point owns the arc before it.
    arcs = np.diff(points, prepend=points[-1] - 1.0)
    return np.bincount(owner, weights=arcs, minlength=servers)


def test_consistent_hashing_spread_is_a_standard_deviation_and_the_max_sits_above_it():
    text = one_line(page("concepts", "load-balancing"))
    rng = np.random.default_rng(7)
    vnodes, servers = 100, 50
    relative = np.concatenate([_ring_loads(servers, vnodes, rng) * servers for _ in range(40)])
    sigma = relative.std()
    assert sigma == pytest.approx(1 / math.sqrt(vnodes), rel=0.1)
    maxima = [(_ring_loads(servers, vnodes, rng) * servers).max() for _ in range(200)]
    excess_in_sigmas = (np.mean(maxima) - 1) / sigma
    assert 2 <= excess_in_sigmas <= 3
    assert "standard deviation of per-server load is about $1/\\sqrt{V}$ of the mean" in text
    assert "about 2 to 3σ above the mean" in text
    assert "so 100 virtual nodes leave around 10 % imbalance" not in text


def test_http2_moves_the_connection_limit_to_max_concurrent_streams():
    text = one_line(page("concepts", "polling-vs-streaming"))
    assert "removes that limit" not in text
    assert "`SETTINGS_MAX_CONCURRENT_STREAMS`" in text
    assert "at least 100" in text


def test_a_dns_answer_cached_at_the_resolver_still_costs_a_round_trip():
    text = one_line(page("concepts", "client-server"))
    assert "A cached DNS answer costs microseconds" not in text
    assert "still costs a round trip to that resolver" in text


@pytest.mark.parametrize(
    ("figure", "wording", "wrong"),
    [
        (
            "NVMe SSD random read",
            "~10–100 µs",
            ["~16-100 µs", "SSD (~100 µs)", "Random reads take tens of microseconds"],
        ),
        (
            "round trip across a continent or ocean",
            "~70–150 ms",
            ["~70-150 ms", "tens to 150 ms", "At a 100 ms RTT", "At a 100 ms cross-continent RTT"],
        ),
    ],
)
def test_each_latency_figure_is_quoted_one_way_everywhere(figure, wording, wrong):
    pages = every_page()
    quoting = [name for name, text in pages.items() if wording in text]
    assert len(quoting) >= 2, f"{figure}: quoted on {quoting}"
    for name, text in pages.items():
        for phrase in wrong:
            assert phrase not in text, f"{name} still says {phrase!r} for {figure}"


def test_the_table_rows_for_ssd_reads_are_identical():
    row = "| NVMe SSD random read (4 KB) | ~10–100 µs |"
    assert row in page("concepts", "latency")
    assert row in page("concepts", "disk-memory-indexes")


# --- Metric pages --------------------------------------------------------------------------------


def test_energy_per_request_rises_only_if_throughput_falls_by_more_than_power():
    text = one_line(page("metrics", "power"))

    def joules_per_request(watts, requests_per_s):
        hour = computations.energy(power_w=watts, duration_s=3600, requests=requests_per_s * 3600)
        return hour["energy_per_request_j"]

    a = joules_per_request(400, 200)
    assert a == pytest.approx(2.0)
    assert joules_per_request(400 * 0.6, 200 * 0.6) == pytest.approx(a)  # both fall by 40 %
    assert joules_per_request(250, 100) == pytest.approx(
        2.5
    )  # power down 37.5 %, throughput down 50 %
    assert joules_per_request(250, 150) < a  # throughput down 25 %: less than power
    assert "serves proportionally fewer requests uses more energy" not in text
    assert "rises only when throughput falls by a larger fraction than power does" in text


def test_a_low_scored_extra_detection_can_lower_coco_ap():
    text = one_line(page("metrics", "average-precision"))
    truths = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]},
        {"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10]},
    ]
    hits = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
        {"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.4},
    ]
    miss = {"image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10]}
    before = computations.detection(truths, hits)["map_50"]
    after = computations.detection(truths, [*hits, {**miss, "score": 0.6}])["map_50"]
    below_all = computations.detection(truths, [*hits, {**miss, "score": 0.1}])["map_50"]
    assert before == pytest.approx(1.0)
    assert after < before and f"{after:.3f}" == "0.835"
    assert below_all == pytest.approx(before), "scored below everything, it cannot hurt"
    assert "Low-scoring extras never hurt" not in text
    assert "AP50 falls to about 0.835" in text


def _huber_minimiser(values: list[float], delta: float) -> float:
    grid = np.round(np.arange(min(values), max(values), 0.001), 3)
    losses = [
        computations.regression(y_true=values, y_pred=[c] * len(values), delta=delta)["huber"]
        for c in grid
    ]
    return float(grid[int(np.argmin(losses))])


def test_the_huber_minimiser_can_lie_outside_median_and_mean():
    text = one_line(page("metrics", "huber-loss"))
    values = [0.0, 0.0, 2.0, 2.0, 7.0]
    best = _huber_minimiser(values, delta=1.0)
    median, mean = float(np.median(values)), float(np.mean(values))
    assert (median, mean) == (2.0, 2.2)
    assert best == pytest.approx(1.5, abs=0.002)
    assert best < min(median, mean)
    assert "The minimiser lies between the mean (MSE) and the median" not in text
    assert "the median is 2, the mean 2.2, and the Huber minimiser 1.5" in text


def _trapezoid_and_ap(y_true, y_score) -> tuple[float, float]:
    result = computations.binary_classification(y_true=y_true, y_score=y_score)
    points = result["pr_curve"][::-1]  # from recall 0 upwards
    recall = np.array([p["recall"] for p in points])
    precision = np.array([p["precision"] for p in points])
    return float(np.trapezoid(precision, recall)), result["average_precision"]


def test_the_trapezoidal_pr_auc_can_under_or_overstate_average_precision():
    text = one_line(page("metrics", "pr-auc"))
    worked = read_file(FIXTURES_DIR / "metrics" / "pr-auc.md")["example"]["input"]
    trapezoid, ap = _trapezoid_and_ap(worked["y_true"], worked["y_score"])
    assert trapezoid < ap
    assert (f"{trapezoid:.3f}", f"{ap:.3f}") == ("0.678", "0.722")
    trapezoid, ap = _trapezoid_and_ap([1, 0, 1, 0], [0.9, 0.9, 0.1, 0.1])
    assert trapezoid > ap
    assert (f"{trapezoid:.3f}", f"{ap:.1f}") == ("0.625", "0.5")
    assert "0.678 against an AP of 0.722" in text
    assert "the trapezoid gives 0.625 and AP 0.5" in text
    assert "trapezoidal rule overstates the area" not in text


def _ols_residual_ss(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    design = np.column_stack([np.ones(len(y)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    fitted = design @ coef
    return fitted, float(((y - fitted) ** 2).sum())


def test_adjusted_r2_rises_exactly_when_the_partial_f_exceeds_one():
    text = one_line(page("metrics", "adjusted-r-squared"))
    assert "partial F statistic is above 1" in text
    assert "by more than the degree of freedom it costs" not in text
    rng = np.random.default_rng(3)
    outcomes = set()
    for _ in range(300):
        n, p, q = int(rng.integers(12, 40)), 2, int(rng.integers(1, 4))
        x = rng.normal(size=(n, p + q))
        y = x[:, 0] + rng.normal(scale=2.0, size=n) + 0.3 * rng.normal() * x[:, -1]
        old_fit, old_ss = _ols_residual_ss(x[:, :p], y)
        new_fit, new_ss = _ols_residual_ss(x, y)
        old = computations.regression(y_true=y.tolist(), y_pred=old_fit.tolist(), n_features=p)
        new = computations.regression(y_true=y.tolist(), y_pred=new_fit.tolist(), n_features=p + q)
        f = ((old_ss - new_ss) / q) / (new_ss / (n - p - q - 1))
        rises = new["adjusted_r2"] > old["adjusted_r2"]
        assert rises == (f > 1), (n, q, f)
        outcomes.add(rises)
    assert outcomes == {True, False}, "both cases were exercised"


def test_q_learning_target_states_its_assumptions_and_dqn_its_stabilisers():
    text = one_line(page("metrics", "q-value"))
    assert "by minimising the squared error" not in text
    assert "target network" in text and "clipped to $[-1, 1]$" in text
    assert "Huber loss with $\\delta = 1$" in text
    assert "Assumptions: transitions and rewards are deterministic" in text
    returns = computations.discounted_return(rewards=[0, 0, 5], gamma=0.9)["returns"]
    assert returns[1] == pytest.approx(4.5)
    target = 0 + 0.9 * returns[1]  # max_a' Q(s_1, a') assumed to be 4.5
    assert target == pytest.approx(returns[0]) == pytest.approx(4.05)
    assert 3 + 0.5 * (target - 3) == pytest.approx(3.525)
    assert "Assume those estimates say the best action in $s_1$ is worth 4.5" in text


def test_map_at_k_cites_who_divides_by_min_k_r():
    text = one_line(page("metrics", "map-at-k"))
    assert "min(len(actual), k)" in text
    assert "Ben Hamner's `ml_metrics`" in text
    result = computations.ranking(
        y_true=[[0, 1, 0, 0, 1, 0, 1]], y_score=[[0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]], k=5
    )
    assert result["map_at_k"] == pytest.approx((1 / 2 + 2 / 5) / min(5, 3))


def test_stickiness_is_an_average_not_a_typical_user():
    data = read_file(FIXTURES_DIR / "metrics" / "dau-mau.md")
    assert "typical monthly user" not in data["summary"]
    assert "on average" in data["summary"]
    body = one_line(data["body"])
    assert "The average monthly user is active" not in body
    stickiness = computations.dau_mau(dau=120_000, mau=400_000)["stickiness"]
    assert stickiness * 30 == pytest.approx(9)
    assert "Monthly users are active on $0.30 \\times 30 = 9$ days on average" in body


def test_day_7_retention_means_active_on_day_7():
    text = one_line(page("metrics", "new-users"))
    assert "still around a week later" not in text
    retained = computations.retention(cohort_size=12_000, retained=3_000)
    assert retained["retention"] == pytest.approx(0.25)
    assert "3{,}000$ of the 12,000 are active on day 7" in text


def test_rmse_reads_as_noise_only_without_bias():
    text = one_line(page("metrics", "rmse"))
    example = read_file(FIXTURES_DIR / "metrics" / "rmse.md")["example"]["input"]
    residuals = np.subtract(example["y_true"], example["y_pred"])
    mse = computations.regression(**example)["mse"]
    bias, variance = residuals.mean(), residuals.var()
    assert mse == pytest.approx(bias**2 + variance)
    assert (bias, bias**2, variance) == pytest.approx((-0.5, 0.25, 0.875))
    assert "$\\mathrm{MSE} = \\bar{e}^2 + \\operatorname{Var}(e)$" in text
    assert "the error variance $1.125 - 0.25 = 0.875$" in text
    assert "When the errors are roughly Gaussian and unbiased" in text


def test_hit_rate_is_not_an_alias_of_recall_in_the_file():
    aliases = [a.lower() for a in read_file(FIXTURES_DIR / "metrics" / "recall.md")["aliases"]]
    assert "hit rate" not in aliases
    assert "sensitivity" in aliases


@pytest.mark.django_db
def test_hit_rate_does_not_lead_to_classification_recall():
    recall = Metric.objects.get(slug="recall")
    assert all(a.split("#")[0].lower() != "hit rate" for a in recall.aliases)
    link_to_recall = re.compile(r'<a [^>]*href="/metrics/recall/"[^>]*>\s*hit rate', re.I)
    from apps.concepts.models import Concept

    for concept in Concept.objects.all():
        assert not link_to_recall.search(concept.body_html), concept.slug
    for metric in Metric.objects.all():
        assert not link_to_recall.search(metric.body_html), metric.slug


# --- ML lifecycle pages --------------------------------------------------------------------------


def test_comparing_two_accuracies_uses_the_standard_error_of_the_difference():
    text = one_line(page("concepts", "overfitting"))
    p, n = 0.9, 10_000
    se_one = math.sqrt(p * (1 - p) / n)
    se_difference = math.sqrt(2) * se_one
    assert f"{se_one:.3f}" == "0.003" and f"{se_difference:.4f}" == "0.0042"
    assert f"{2 * se_difference * 100:.2f}" == "0.85"
    assert "about 0.85 percentage points (two standard errors of the difference)" in text
    assert "McNemar's test" in text
    assert "differences below about 0.6 percentage points" not in text


def test_efficientnet_flops_are_multiply_adds_too():
    text = one_line(page("concepts", "model-selection"))
    assert "Reported compute (multiply-adds)" in text
    assert "both count multiply-adds" in text
    # EfficientNet never defines its unit; the 4.1B it lists for ResNet-50 is the MAC count.
    assert "The EfficientNet paper does not define its unit" in text
    assert "FLOPS counted as multiply-adds" not in text
    assert "The ResNet paper's figure counts multiply-adds; double it" not in text


def test_cross_entropy_from_logits_not_because_clipping_gives_infinities():
    text = one_line(page("concepts", "loss-functions"))
    assert "never from clipped probabilities, or you get infinities" not in text
    assert "Clipping the probabilities to $[\\epsilon, 1-\\epsilon]$ prevents the infinity" in text
    assert "zero gradient wherever the clip is active" in text


def test_pytorch_nesterov_is_the_look_ahead_method_after_a_change_of_variables():
    text = one_line(page("concepts", "optimizers"))
    assert "\\theta_{t+1} = \\theta_t - \\eta\\,(g_t + \\mu\\, v_{t+1})" in text
    assert "Nesterov momentum evaluates the gradient at the look-ahead point" not in text
    # On a quadratic, run both forms and check that PyTorch's weights are the look-ahead points.
    a = np.diag([1.0, 10.0])
    grad = lambda w: a @ w  # noqa: E731
    eta, mu = 0.05, 0.9
    theta, v = np.array([1.0, 1.0]), np.zeros(2)  # textbook form, velocity in gradient units
    stored, v_torch = theta.copy(), np.zeros(2)  # PyTorch's SGD(nesterov=True)
    for _ in range(50):
        g_look = grad(theta - eta * mu * v)
        v = mu * v + g_look
        theta = theta - eta * v
        g = grad(stored)
        v_torch = mu * v_torch + g
        stored = stored - eta * (g + mu * v_torch)
        assert np.allclose(stored, theta - eta * mu * v)


def test_k_means_needs_scaling_for_distances_not_gradients():
    text = one_line(page("concepts", "normalization"))
    assert "Gradient-based models (linear models, neural networks, k-means" not in text
    assert "k-means uses no gradients at all" in text


def test_several_raters_need_fleiss_kappa_or_krippendorffs_alpha():
    text = one_line(page("concepts", "data-collection-and-labeling"))
    assert "Cohen's kappa is defined for exactly two raters" in text
    assert "Fleiss' kappa" in text and "Krippendorff's alpha" in text


def test_ab_test_duration_counts_distinct_users_not_daily_traffic():
    text = one_line(page("concepts", "ab-testing"))
    per_arm = 16 * 0.02 * 0.98 / 0.001**2
    assert per_arm == pytest.approx(313_600)
    both = 2 * per_arm
    regulars = new_per_day = 50_000
    days = math.ceil((both - regulars) / new_per_day)
    assert days == 12 and math.ceil(days / 7) * 7 == 14
    assert "6.3 days, so run 7" not in text
    assert "reaches 627,000 after 12 days" in text and "so run 14" in text


def test_umap_can_transform_new_data():
    text = one_line(page("concepts", "dimensionality-reduction"))
    assert "They are for inspection, not for model inputs." not in text
    assert "has a `transform` method" in text
    assert "| UMAP | no | optional (labels as `y`) | `transform` on new data |" in text


def test_gpu_memory_figures_include_current_parts():
    text = one_line(page("concepts", "problem-clarification"))
    assert "16 to 80 GB" not in text
    for part in ("H200 141 GB", "MI300X 192 GB", "B200 192 GB"):
        assert part in text
    dgx_b200_total_gb = 1_440
    assert dgx_b200_total_gb / 8 == 180 and "exposes 180 GB per GPU" in text


# --- Worked design docs --------------------------------------------------------------------------


def test_video_score_corrects_the_log_scale_watch_time():
    text = one_line(page("examples", "video-recommendations"))
    assert "The score is P(play) × expected minutes, then" not in text
    assert "Duan's smearing estimator" in text
    minutes = np.random.default_rng(5).lognormal(mean=2.5, sigma=1.2, size=50_000)
    naive = math.exp(np.log1p(minutes).mean()) - 1
    assert naive < minutes.mean() * 0.7, "exponentiating the log mean badly understates minutes"
    g = np.log1p(minutes).mean()  # a head that predicts one constant, for the check
    smearing = np.exp(np.log1p(minutes) - g).mean()
    assert smearing * math.exp(g) - 1 == pytest.approx(minutes.mean())


def test_video_ab_test_analyses_by_account():
    text = one_line(page("examples", "video-recommendations"))
    assert "average daily watch minutes per user over the test" not in text
    assert "average daily watch minutes per account over the test" in text
    assert "delta method" in text
    n = 16 * 120**2 / 0.9**2
    assert round(n, -2) == 284_400 and "≈ 284,400 accounts per arm" in text
    per_arm_lower_bound = 40_000_000 / 5 * 0.05
    assert per_arm_lower_bound == 400_000 and "400,000 per arm" in text


def test_video_candidates_parameters_and_fleet_are_consistent():
    text = one_line(page("examples", "video-recommendations"))
    assert 800 + 200 == 1_000 and "That makes 1,000 candidates" in text
    assert "keeps 500 for the ranker" in text
    embeddings = 32 + 64 + 16 + 16 + 8 * 5
    inputs = embeddings + 30 + 1
    projection = inputs * 256 + 256
    cross = 3 * (256 * 256 + 256)
    mlp = (256 * 1024 + 1024) + (1024 * 512 + 512) + (512 * 256 + 256)
    heads = 2 * ((256 * 64 + 64) + (64 + 1))
    dense = projection + cross + mlp + heads
    assert (embeddings, inputs) == (168, 199)
    assert f"{dense / 1e6:.2f}M" == "1.20M" and "Dense total ≈ 1.20M parameters" in text
    mflops = round(2 * dense / 1e6, 1)
    assert mflops == 2.4 and "about 2.4 MFLOPs per candidate" in text
    tflops = 17_000 * 500 * mflops * 1e6 / 1e12
    assert tflops == pytest.approx(20.4) and "≈ 20.4 TFLOP/s at peak" in text
    gpus_per_region = math.ceil(tflops / (10 * 0.5))
    assert gpus_per_region == 5 and "two regions each sized for full peak gives 10" in text
    kw = 2 * gpus_per_region * 70 / 1000
    assert kw == pytest.approx(0.7) and kw * 24 == pytest.approx(16.8)
    assert "roughly 0.7 kW, about 16.8 kWh a day" in text
    assert "1.15M" not in text and "2.3 MFLOPs" not in text


def test_video_positives_and_data_size_are_consistent():
    data = read_file(FIXTURES_DIR / "examples" / "video-recommendations.md")
    text = one_line(page("examples", "video-recommendations"))
    impressions = 480e6 * 20
    positives = 240e6
    assert positives / impressions == pytest.approx(0.025)
    per_day = positives + 0.025 * (impressions - positives)
    assert per_day == pytest.approx(474e6) and per_day * 30 == pytest.approx(14.22e9)
    playback_tb = 300e6 * 500 * 90 / 1e12
    assert playback_tb == pytest.approx(13.5)
    total_tb = 9.6e9 * 200 * 90 / 1e12 + playback_tb
    assert round(total_tb) == 186 and data["answers"]["data_size"] == "186 TB"
    assert "Only the 240M plays a day that start from a ranked impression count" in text
    assert "L2 penalty (weight decay)" not in text


def test_ads_adagrad_accumulators_double_training_memory():
    text = one_line(page("examples", "ads-click-through-prediction"))
    weights_gb = 200e6 * 16 * 4 / 1e9
    assert weights_gb == pytest.approx(12.8)
    training_gb = 2 * weights_gb  # one AdaGrad accumulator per parameter
    assert training_gb == pytest.approx(25.6) and training_gb / 8 == pytest.approx(3.2)
    assert "25.6 GB in float32, about 3.2 GB per GPU" in text
    assert "The 12.8 GB embedding table is sharded" not in text


def test_ads_scoring_budget_and_late_clicks_are_consistent():
    data = read_file(FIXTURES_DIR / "examples" / "ads-click-through-prediction.md")
    text = one_line(page("examples", "ads-click-through-prediction"))
    assert "a few milliseconds per request" not in data["problem"]
    assert "within 15 ms" in data["problem"]
    budget = {"targeting": 10, "features": 10, "scoring": 15, "auction": 5, "slack": 10}
    assert sum(budget.values()) == 50 and "CTR scoring 15 ms" in text
    assert "the later ones are rare and dropped" not in text
    assert "its impression has already been emitted with label 0 and keeps it" in text
    raise_by = 1 / 0.99 - 1
    assert round(raise_by, 4) == 0.0101
    assert "at w = 0.99 that raises each prediction by about 1 %" in text
