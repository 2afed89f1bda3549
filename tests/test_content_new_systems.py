"""The new systems pages: anatomy, aliases of their own, and every worked number recomputed.

Each number a page states in a worked example is computed here from the page's stated
assumptions, with plain Python or numpy, and the test asserts that the page prints that
result. Change an assumption on the page and the test tells you which figures to redo.
"""

import math
import re
from fractions import Fraction
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from apps.core.content import FIXTURES_DIR, read_file

NEW_PAGES = [
    "back-of-the-envelope",
    "caching",
    "cdn",
    "replication",
    "sharding-and-partitioning",
    "sql-vs-nosql",
    "scaling",
]

SECTIONS = [
    "What it is",
    "How it works",
    "Trade-offs",
    "Numbers to know",
    "In an ML system",
    "In a design review",
]


def one_line(text: str) -> str:
    """Text with line breaks folded, so a phrase wrapped across lines still matches."""
    return re.sub(r"\s+", " ", text)


def page(slug: str) -> str:
    """A concept's summary and body as one line."""
    data = read_file(FIXTURES_DIR / "concepts" / f"{slug}.md")
    return one_line(f"{data['summary']}\n{data['body']}")


def grouped(value: float, places: int = 0) -> str:
    """``value`` as the pages print it in prose: thousands separated by commas."""
    return f"{value:,.{places}f}"


def tex(value: float, places: int = 0) -> str:
    """``value`` as the pages print it inside maths: ``{,}`` between thousands."""
    return grouped(value, places).replace(",", "{,}")


# --- Anatomy and aliases -------------------------------------------------------------------------


@pytest.mark.parametrize("slug", NEW_PAGES)
def test_new_page_follows_the_anatomy(slug):
    data = read_file(FIXTURES_DIR / "concepts" / f"{slug}.md")
    body = data["body"]
    assert len(body.split()) >= 450, "at least 450 words of writing"
    headings = re.findall(r"^## (.+?)\s*$", body, flags=re.MULTILINE)
    assert headings == SECTIONS
    assert len(data["summary"]) <= 160
    assert data["level"] in {"characteristics", "building-blocks"}
    internal = set(re.findall(r"\[\[([a-z0-9-]+)", body)) - {slug}
    assert len(internal) >= 2, "at least two links to other concepts"
    assert data["references"]
    for ref in data["references"]:
        assert ref["url"].startswith("https://"), ref
    for alias in data["aliases"]:
        if "#" in alias:
            anchor = alias.split("#", 1)[1]
            assert "{#" + anchor + "}" in body, f"{slug}: alias {alias} has no section"


def _terms_of_other_pages(slug: str) -> dict[str, str]:
    """Every title and alias (lower-cased, anchor dropped) of every other fixture page."""
    terms = {}
    paths = sorted((FIXTURES_DIR / "concepts").glob("*.md"))
    paths += sorted((FIXTURES_DIR / "metrics").glob("*.md"))
    for path in paths:
        if path.parent.name == "concepts" and path.stem == slug:
            continue
        data = read_file(path)
        for term in [data.get("title") or data.get("name"), *(data.get("aliases") or [])]:
            terms[str(term).split("#", 1)[0].strip().lower()] = f"{path.parent.name}/{path.stem}"
    return terms


@pytest.mark.parametrize("slug", NEW_PAGES)
def test_new_page_aliases_are_its_own(slug):
    data = read_file(FIXTURES_DIR / "concepts" / f"{slug}.md")
    others = _terms_of_other_pages(slug)
    for alias in data["aliases"]:
        term = alias.split("#", 1)[0].strip().lower()
        assert term not in others, f"{slug}: alias {alias!r} is already {others[term]}'s"


def test_numbers_quoted_elsewhere_are_quoted_the_same_way():
    text = page("back-of-the-envelope")
    latency = one_line(read_file(FIXTURES_DIR / "concepts" / "latency.md")["body"])
    for row in (
        "| L1 cache reference | ~1 ns |",
        "| Main memory reference | ~100 ns |",
        "| NVMe SSD random read (4 KB) | ~10–100 µs |",
        "| Round trip in the same datacenter | ~0.5 ms |",
        "| Spinning-disk seek | ~2–10 ms |",
        "| Round trip across a continent or ocean | ~70–150 ms |",
    ):
        assert row in latency and row in text, row
    assert "dividing by $10^5$ underestimates by about 14%" in text


# --- Back-of-the-envelope estimation -------------------------------------------------------------


def test_powers_of_two_and_their_decimal_error():
    text = page("back-of-the-envelope")
    for step, unit in enumerate(["KiB", "MiB", "GiB", "TiB", "PiB"], start=1):
        error = (2 ** (10 * step) / 10 ** (3 * step) - 1) * 100
        assert f"| {unit} | {error:.1f} % |" in text, unit
    assert f"{10**12 / 2**40:.2f}" == "0.91" and "about 0.91" in text
    assert f"= {tex(2**31 - 1)}$" == "= 2{,}147{,}483{,}647$" and "= 2{,}147{,}483{,}647$" in text
    assert f"{2**32 / 1e9:.1f}" == "4.3" and "$2^{32} \\approx 4.3 \\times 10^9$" in text
    assert "2.4% off at KiB, 10.0% off at TiB" in text


def test_seconds_in_a_day_a_month_and_a_year():
    text = page("back-of-the-envelope")
    day = 24 * 60 * 60
    assert day == 86_400
    assert round((1 - day / 1e5) * 100) == 14
    assert grouped(30 * day) == "2,592,000" and "| 30-day month | 2,592,000 |" in text
    year = 365.25 * day
    assert grouped(year) == "31,557,600" and "| Year of 365.25 days | 31,557,600 |" in text
    assert f"{year / 1e7:.2f}" == "3.16" and abs(year / (math.pi * 1e7) - 1) < 0.005
    assert f"{1e6 / day:.1f}" == "11.6" and "about 11.6 per second" in text
    assert f"{year / 1e6:.1f}" == "31.6" and "about 31.6 million a year" in text
    assert 50 * 0.5 == 25 and "has spent 25 ms on round trips" in text


def test_feed_ranking_estimate_from_users_to_gpus_bytes_and_bits():
    text = page("back-of-the-envelope")
    dau, loads, peak_ratio, candidates = 50e6, 10, 3, 500
    per_replica, ceiling, zones = 100_000, 0.7, 3
    kb = 1_000

    per_day = dau * loads
    assert per_day == 5e8
    average = per_day / 86_400
    assert f"\\approx {tex(average)}$" == "\\approx 5{,}787$" and "\\approx 5{,}787$" in text
    assert per_day / 1e5 == 5_000 and "shortcut gives 5,000" in text
    peak = peak_ratio * average
    assert f"\\approx {tex(peak)}$" == "\\approx 17{,}361$" and "\\approx 17{,}361$" in text
    scorings = peak * candidates
    assert f"{scorings / 1e6:.2f}" == "8.68" and "8.68 \\times 10^6$ candidate scorings" in text

    usable = per_replica * ceiling
    assert usable == 70_000
    replicas = scorings / usable
    assert f"{replicas:.2f}" == "124.01" and math.ceil(replicas) == 125
    assert "\\approx 124.01$, rounded up to 125 GPUs" in text
    per_zone = replicas / (zones - 1)
    assert 62 < per_zone < 62.01 and math.ceil(per_zone) == 63
    assert math.ceil(per_zone) * zones == 189
    assert "half of the 124.01 replicas' work, just over 62 each" in text
    assert "rounded up to 63 per zone: 189 GPUs in all" in text
    assert zones / (zones - 1) == 1.5 and "That is the 150% of peak capacity" in text

    egress = peak * 20 * kb
    assert f"{egress / 1e6:.0f}" == "347" and f"{egress * 8 / 1e9:.1f}" == "2.8"
    assert "≈ 347 MB/s, about 2.8 Gbit/s at peak" in text
    features = scorings * kb
    assert f"{features / 1e9:.1f}" == "8.7" and f"{features * 8 / 1e9:.0f}" == "69"
    assert round(features * 8 / 10e9) == 7
    assert "≈ 8.7 GB/s, about 69 Gbit/s, seven 10 Gbit/s links' worth" in text
    per_replica_gbit = features * 8 / 1e9 / math.ceil(replicas)
    assert f"{per_replica_gbit:.2f}" == "0.56"
    assert "Spread over 125 ranking replicas that is only about 0.56 Gbit/s each" in text
    assert scorings / peak == pytest.approx(candidates) and "500 times the request rate" in text
    assert "8.68 million lookups per second" in text

    logs_per_day = per_day * 20 * 500
    assert logs_per_day == 5e12
    assert logs_per_day * 30 == 150e12 and logs_per_day * 30 * 3 == 450e12
    assert "= 5 TB a day; kept for 30 days, 150 TB, or 450 TB with three copies" in text
    embeddings = 100e6 * 256 * 4
    assert f"{embeddings / 1e9:.1f}" == "102.4" and "= 102.4 GB in float32" in text
    assert "Halving the candidates to 250" in text


def test_ml_estimates_training_compute_and_data_loading():
    text = page("back-of-the-envelope")
    assert f"{1.2**5:.2f}" == "2.49" and "$1.2^5 \\approx 2.49$" in text

    flops = 6 * 1e9 * 2e10
    assert flops == 1.2e20 and "= 1.2 \\times 10^{20}$ FLOPs" in text
    gpu_seconds = flops / 4e14
    assert gpu_seconds == 3e5
    assert f"{gpu_seconds / 3600:.0f}" == "83" and f"{gpu_seconds / 3600 / 8:.1f}" == "10.4"
    assert "about 83 GPU-hours, or about 10.4 hours on 8 GPUs" in text

    fast, slow = 10e12 / 5e9, 10e12 / 200e6
    assert fast == 2_000 and f"{fast / 60:.0f}" == "33"
    assert f"{slow / 3600:.1f}" == "13.9"
    assert "takes 2,000 s, about 33 minutes" in text and "about 13.9 hours" in text
    assert 16 * 7e9 == 112e9 and "112 GB for 7 billion parameters" in text


# --- Caching -------------------------------------------------------------------------------------


def test_hit_ratio_sets_the_mean_but_not_the_p99():
    text = page("caching")
    hit, miss = 1.0, 1.0 + 40.0
    for ratio, mean in ((0.8, "9.0"), (0.95, "3.0")):
        assert f"{ratio * hit + (1 - ratio) * miss:.1f}" == mean
    assert "$0.8 \\times 1 + 0.2 \\times 41 = 9.0$ ms" in text
    assert "at $h = 0.95$ the mean is 3.0 ms" in text
    assert "80% hits give 9.0 ms and 95% give 3.0 ms" in text
    # Below 99% hits, more than 1% of requests miss, so the 99th percentile is a miss.
    rng = np.random.default_rng(0)
    for ratio in (0.8, 0.95):
        latencies = np.where(rng.random(100_000) < ratio, hit, miss)
        assert np.percentile(latencies, 99) == miss
        assert np.percentile(latencies, 50) == hit
    assert "the [[metric:latency-percentiles|p99]] is a miss: 41 ms at both ratios" in text
    load_cut = (1 - 0.9) / (1 - 0.99)
    assert round(load_cut, 9) == 10
    assert "Going from 90% to 99% hits cuts the load on the store tenfold" in text


def test_zipf_popularity_gives_the_stated_hit_ratios():
    text = page("caching")

    def shares(alpha: float) -> tuple[int, int]:
        """Per cent of requests served by the top 1% and top 10% of a million items."""
        weights = np.arange(1, 1_000_001, dtype=float) ** -alpha
        total = weights.sum()
        top_1 = weights[:10_000].sum() / total
        top_10 = weights[:100_000].sum() / total
        return round(top_1 * 100), round(top_10 * 100)

    assert shares(1.0) == (68, 84)
    assert "caching the top 1% serves about 68% of requests and the top 10% about 84%" in text
    assert "the top 1% serves about 68% of requests, the top 10% about 84%" in text
    assert shares(0.8) == (36, 61)
    assert "the same caches serve only about 36% and 61%" in text
    assert "with exponent 0.8, about 36% and 61%" in text


def test_stampede_size_jitter_spread_and_early_refresh_probability():
    text = page("caching")
    assert 2_000 * 0.2 == 400
    assert "sends about 400 identical queries" in text
    assert "2,000/s × 0.2 s = 400 duplicate queries" in text
    spread = 2 * 0.10 * 3_600
    assert spread == pytest.approx(720) and round(1e6 / spread, -2) == 1_400
    assert "spreads a million expiries over 720 s, about 1,400 per second" in text
    # XFetch: refresh when -delta * beta * ln(U) >= r, i.e. U <= exp(-r / (beta * delta)).
    delta, beta = 0.2, 1.0
    rng = np.random.default_rng(1)
    u = 1 - rng.random(1_000_000)  # uniform on (0, 1]
    for r, stated in ((1.0, 0.7), (0.2, 37)):
        exact = math.exp(-r / (beta * delta))
        simulated = np.mean(-delta * beta * np.log(u) >= r)
        assert simulated == pytest.approx(exact, rel=0.05)
        assert round(exact * 100, 1 if stated < 1 else 0) == stated
    assert "about 0.7% per read one second out and 37% at 200 ms out" in text
    assert "17K/s to 1.3K/s" in text and "at most once every 10 seconds" in text


# --- CDN -----------------------------------------------------------------------------------------


def test_cdn_handshake_savings_origin_load_and_ttls():
    text = page("cdn")
    tls = one_line(read_file(FIXTURES_DIR / "concepts" / "https-tls.md")["body"])
    assert "TCP plus TLS 1.3 means 200 ms before the first request byte" in tls
    setup_round_trips, far_ms, near_ms = 2, 100, 10
    saved = setup_round_trips * (far_ms - near_ms)
    assert saved == 180 and "$2 \\times (100 - 10) = 180$ ms" in text
    assert "~70–150 ms for a round trip across a continent or ocean" in text
    origin_share = {0.95: 1 - 0.95, 0.99: 1 - 0.99}
    assert round(origin_share[0.95] / origin_share[0.99]) == 5
    assert "at 99%, 1%, five times less" in text
    assert 365 * 86_400 == 31_536_000 and "`max-age=31536000` is one year of 365 days" in text
    assert "up to 300 origin fetches without a shield, one per shield" in text
    assert "CloudFront's is 24 hours" in text and "1,000 invalidation paths a month" in text


def test_cdn_delivery_volumes_for_models_and_thumbnails():
    text = page("cdn")
    model_release = 20e6 * 10e6
    assert model_release == 200e12
    assert "a 20 MB model sent to 10 million devices is 200 TB of delivery" in text
    thumbnails = 1e9 * 20e3
    assert thumbnails == 20e12 and "a billion images at 20 KB each is 20 TB" in text


# --- Replication ---------------------------------------------------------------------------------


def _every_read_meets_every_write(n: int, r: int, w: int) -> bool:
    reads = [set(chosen) for chosen in combinations(range(n), r)]
    writes = [set(chosen) for chosen in combinations(range(n), w)]
    return all(read & write for read in reads for write in writes)


def test_quorums_overlap_exactly_when_r_plus_w_exceeds_n():
    text = page("replication")
    for n in range(1, 6):
        for r in range(1, n + 1):
            for w in range(1, n + 1):
                assert _every_read_meets_every_write(n, r, w) == (r + w > n), (n, r, w)
    assert _every_read_meets_every_write(3, 2, 2)
    assert "$(N, R, W) = (3, 2, 2)$" in text and "$R + W > N$" in text
    n, r, w = 3, 2, 2
    assert (n - w, n - r) == (1, 1)
    assert "$W = 2, R = 2$ tolerates one replica down for both reads and writes" in text


def test_chance_that_a_read_misses_a_write_without_overlap():
    text = page("replication")
    n, w = 3, 1

    def miss(r: int) -> Fraction:
        """Chance that ``r`` replicas picked at random include none of the ``w`` that have it."""
        return Fraction(math.comb(n - w, r), math.comb(n, r))

    assert (miss(1), miss(2), miss(3)) == (Fraction(2, 3), Fraction(1, 3), 0)
    sets = list(combinations(range(n), 2))
    assert Fraction(sum(0 not in chosen for chosen in sets), len(sets)) == miss(2)
    assert "misses it with probability 2/3 and $R = 2$ with probability 1/3; $R = 3$ always" in text


def test_replication_lag_loss_window_and_costs():
    text = page("replication")
    assert 5_000 * 0.2 == 1_000
    assert "at 5,000 writes per second and 200 ms of lag, about 1,000 acknowledged writes" in text
    assert "5,000 writes/s × 0.2 s = 1,000 writes" in text
    assert round(2 - 0.1, 1) == 1.9 and "The second read is 1.9 s older than the first" in text
    fibre_km_per_s = 200_000
    assert 2 * 5_000 / fibre_km_per_s == 0.05
    assert "at least 50 ms of round trip" in text and "at least 50 ms per write" in text
    consistency = one_line(read_file(FIXTURES_DIR / "concepts" / "consistency.md")["body"])
    assert "$2 \\times 5{,}000 / 200{,}000 = 50$ ms" in consistency
    heartbeat_s, misses = 1, 3
    assert heartbeat_s * misses == 3 and "about 3 s with 1 s heartbeats and three misses" in text
    assert "after 10 s without an acknowledgement" in text and "hints for three hours" in text
    assert "Since version 10, PostgreSQL's `synchronous_standby_names` accepts `FIRST k" in text
    # Consistent prefix comes from Terry's 2013 article, not the 1994 session guarantees.
    assert "Terry's 2013 article adds consistent prefix" in text


# --- Sharding and partitioning --------------------------------------------------------------------


def _ring_owner(nodes: int, vnodes: int, keys: np.ndarray, seed: int) -> np.ndarray:
    """Owner of each key on a ring where node ``i``'s points come from ``seed`` and ``i``.

    Seeding per node keeps a node's points fixed when another node joins, as hashing its
    name would.
    """
    points, owners = [], []
    for node in range(nodes):
        points.append(np.random.default_rng([seed, node]).random(vnodes))
        owners.append(np.full(vnodes, node))
    points, owners = np.concatenate(points), np.concatenate(owners)
    order = np.argsort(points)
    points, owners = points[order], owners[order]
    # A key belongs to the first point clockwise from it (wrapping past 1 to the first point).
    return owners[np.searchsorted(points, keys) % len(points)]


def test_a_joining_node_takes_about_one_in_n_plus_one_keys_from_its_neighbours():
    text = page("sharding-and-partitioning")
    keys = np.random.default_rng(99).random(200_000)
    moved_shares = []
    for seed in range(20):
        before = _ring_owner(10, 100, keys, seed)
        after = _ring_owner(11, 100, keys, seed)
        moved = before != after
        assert set(np.unique(after[moved])) <= {10}, "keys move only to the new node"
        moved_shares.append(moved.mean())
    assert np.mean(moved_shares) == pytest.approx(1 / 11, rel=0.05)
    assert round(100 / 11) == 9 and "about 9% going from 10 to 11 nodes instead of 91%" in text

    ids = np.arange(1_000_000)
    modulo_moved = np.mean(ids % 10 != ids % 11)
    assert modulo_moved == pytest.approx(10 / 11, abs=1e-3) and round(modulo_moved * 100) == 91
    assert "going from 10 to 11 shards moves about 91% of them" in text
    assert "about 9% of keys move with consistent hashing, about 91% with modulo hashing" in text
    balancing = one_line(read_file(FIXTURES_DIR / "concepts" / "load-balancing.md")["body"])
    assert "about 91 % with modulo hashing, about 9 % with consistent hashing" in balancing
    assert 1 / math.sqrt(100) == 0.1 and "10% at $V = 100$" in text


def test_hot_key_salting_and_scatter_gather_tail():
    text = page("sharding-and-partitioning")
    writes, sub_keys, limit = 10_000, 16, 1_000
    assert writes / sub_keys == 625 < limit and math.ceil(writes / limit) == 10
    assert "puts 625 on each sub-key, under a 1,000-per-second limit" in text
    slow = 1 - 0.99**64
    assert round(slow * 100) == 47
    assert "$1 - 0.99^{64} \\approx 47\\%$" in text and "about 47% of queries" in text


def test_resharding_moves_the_stated_data_in_the_stated_time():
    text = page("sharding-and-partitioning")
    total_tb, old_nodes, new_nodes, rate_mb_s = 10, 10, 20, 100
    moved_tb = total_tb * (new_nodes - old_nodes) / new_nodes
    assert moved_tb == 5
    per_old_node_tb = moved_tb / old_nodes
    seconds = per_old_node_tb * 1e12 / (rate_mb_s * 1e6)
    assert per_old_node_tb == 0.5 and seconds == 5_000 and round(seconds / 60) == 83
    assert (
        "With 10 TB that is 5 TB: each old node sends 0.5 TB, which at 100 MB/s takes 5,000 s"
        in text
    )
    assert "about 83 minutes" in text
    assert f"{total_tb / 11:.2f}" == "0.91" and f"{total_tb * 10 / 11:.1f}" == "9.1"
    assert "moves about 0.91 TB with consistent hashing and 9.1 TB with modulo hashing" in text
    ids = np.arange(1_000_000)
    assert np.mean(ids % 10 != ids % 20) == 0.5, "doubling under modulo also moves half"


def test_sharded_embedding_table_size():
    text = page("sharding-and-partitioning")
    table = 1e9 * 64 * 4
    assert table == 256e9 and table / 8 == 32e9
    assert "is 256 GB" in text and "across 8 hosts at 32 GB each" in text
    assert 10 * 3 == 30 and "30 nodes might hold 10 shards with three copies each" in text


# --- SQL and NoSQL databases ----------------------------------------------------------------------


def test_write_amplification_of_copies_and_indexes():
    text = page("sql-vs-nosql")
    posts = 2_000
    assert posts + 1 == 2_001
    assert "renaming a user who wrote 2,000 posts costs 2,001 writes instead of 1" in text
    assert "2,000 copies make a rename 2,001 writes" in text
    indexes = 4
    assert 1 + indexes == 5
    assert "a table with four secondary indexes is five writes" in text
    assert "Four secondary indexes make every insert five writes" in text


def test_graph_fan_out_and_sizes_of_ml_data():
    text = page("sql-vs-nosql")
    assert 200**2 == 40_000 and 200**3 == 8_000_000
    assert "friends of friends is 40,000 paths and three hops is 8 million" in text
    assert "40,000 two-hop paths, 8 million three-hop paths" in text
    assert 1e8 * 100 == 10e9 and "$10^8$ labels × 100 bytes = 10 GB" in text
    per_day = 1e9 * 1e3
    assert per_day == 1e12 and per_day * 365 == 365e12
    assert "$10^9$ events a day × 1 KB = 1 TB a day, about 365 TB a year" in text
    vectors = 1e7 * 768 * 4
    assert f"{vectors / 1e9:.1f}" == "30.7" and "is about 30.7 GB of raw vectors" in text
    for limit in ("16 MB", "400 KB", "100 actions and 4 MB"):
        assert limit in text


# --- Horizontal and vertical scaling --------------------------------------------------------------


def amdahl(p: float, n: float) -> float:
    """Speedup of ``n`` workers when a fraction ``p`` of the work runs in parallel."""
    return 1 / ((1 - p) + p / n)


def test_amdahls_law_and_the_batch_job_it_limits():
    text = page("scaling")
    assert f"{amdahl(0.95, 16):.1f}" == "9.1" and round(1 / (1 - 0.95)) == 20
    assert amdahl(0.95, 1e9) == pytest.approx(20, rel=1e-6)
    assert "16 workers give 9.1 times and no number of workers gives more than" in text
    assert "9.1× on 16 workers, never more than 20×" in text

    gpu_seconds = 1e8 / 5_000
    assert gpu_seconds == 20_000 and f"{gpu_seconds / 3600:.1f}" == "5.6"
    assert round(gpu_seconds / 20 / 60) == 17
    assert "is 20,000 GPU-seconds, about 5.6 GPU-hours: about 17 minutes on 20 GPUs" in text
    serial = 5 * 60
    with_200 = gpu_seconds / 200 + serial
    assert f"{with_200 / 60:.1f}" == "6.7" and f"{gpu_seconds / 200 / 60:.1f}" == "1.7"
    assert "200 GPUs finish in about 6.7 minutes, not 1.7" in text


def test_autoscaler_arithmetic_and_headroom():
    text = page("scaling")
    current, utilisation, target, tolerance = 10, 0.90, 0.60, 0.10
    assert abs(utilisation / target - 1) > tolerance
    assert math.ceil(current * utilisation / target) == 15
    assert "10 replicas at 90% utilisation against a 60% target become 15" in text
    assert "15 s loop, 10% tolerance, 300 s scale-down window" in text
    # Kubernetes' defaults.go: scale up by max(4 pods, 100%) per 15 s period.
    assert "4 pods or 100%, whichever is more, per 15 s period" in text
    assert max(current + 4, current * 2) == 20
    growth = 2 ** (5 / 10)
    assert f"{growth:.2f}" == "1.41" and round(100 / growth) == 71
    assert "$2^{5/10} \\approx 1.41$" in text and "$1/1.41 \\approx 71\\%$" in text


def test_cells_shuffle_shards_gpu_memory_and_weight_loading():
    text = page("scaling")
    assert 100 / 20 == 5 and "with 20 cells, one failure reaches 5% of users" in text
    assert math.comb(8, 2) == 28 and "8 cells taken 2 at a time there are 28 combinations" in text
    assert 8 * 80 == 640 and "640 GB of GPU memory" in text
    assert 10 / 2 == 5 and 10e9 / 200e6 == 50
    assert "5 s at 2 GB/s from local NVMe, 50 s at 200 MB/s from remote storage" in text
    disk = one_line(read_file(FIXTURES_DIR / "concepts" / "disk-memory-indexes.md")["body"])
    assert "Loading 10 GB of weights at 2 GB/s from local NVMe takes 5 s" in disk
    redundancy = one_line(read_file(FIXTURES_DIR / "concepts" / "redundancy.md")["body"])
    assert "three need 150%" in redundancy and "takes 150% of peak capacity" in text


def test_the_test_file_checks_every_page_it_lists():
    this = Path(__file__).read_text()
    for slug in NEW_PAGES:
        assert (FIXTURES_DIR / "concepts" / f"{slug}.md").exists()
        assert f'page("{slug}")' in this
