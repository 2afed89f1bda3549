"""Top-k ranking metrics over many queries, computed for all queries at once."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from apps.metrics.computations.inputs import (
    MAX_VALUES,
    InputError,
    bounded_list,
    class_labels,
    finite_floats,
    show_value,
    whole_number,
)
from apps.metrics.computations.outputs import calculation


def _queries(value: Any, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-query lists of numbers as one flat float64 array and the length of each query."""
    queries = bounded_list(value, field, limit=MAX_VALUES, what="queries (lists of numbers)")
    # Checked with map() first: a loop in Python costs as much as the ranking itself.
    if not set(map(type, queries)) <= {list, tuple} or not all(queries):
        for q, query in enumerate(queries, start=1):
            if not isinstance(query, list | tuple) or not query:
                raise InputError(
                    field,
                    f"query {q} is {show_value(query) if query else 'empty'}; each query must be a "
                    "non-empty list of numbers",
                )
    lengths = np.fromiter(map(len, queries), dtype=np.int64, count=len(queries))
    if lengths.sum() > MAX_VALUES:
        raise InputError(
            field, f"has more than {MAX_VALUES:,} values in all; at most that many are allowed"
        )
    try:
        return finite_floats(list(itertools.chain.from_iterable(queries)), field), lengths
    except InputError:
        pass
    # Say which query, and the position within it, that holds the first bad value.
    for q, query in enumerate(queries, start=1):
        try:
            finite_floats(query, field)
        except InputError as error:
            raise InputError(field, f"query {q}: {error.message}") from None
    raise AssertionError("unreachable: some query holds the bad value")


GAINS = ("linear", "exponential")
"""NDCG's gain functions: the grade itself, or 2 ** grade - 1."""


def _ranking_per_query(
    grades: np.ndarray, scores: np.ndarray, lengths: np.ndarray, k: int, gain: str
) -> dict[str, np.ndarray]:
    """Every metric of every query at once, on the queries laid end to end.

    Sorting by (query, descending score) keeps each query's items together, so a per-query sum
    is ``np.add.reduceat`` at the query starts. Queries without a relevant item get NaN or inf
    for every metric but precision, which the caller leaves out.
    """
    n = grades.size
    starts = np.cumsum(lengths) - lengths
    query = np.repeat(np.arange(lengths.size), lengths)
    # Queries are laid out in order and sorting keeps them so: rank i of a query sits at
    # starts[query] + i both before and after sorting.
    position = np.arange(n) - starts[query]
    discount = np.where(position < k, 1 / (np.log(position + 2) / np.log(2)), 0.0)

    relevant = grades > 0
    n_relevant = np.add.reduceat(relevant, starts, dtype=np.int64)
    # Descending score; lexsort is stable, so tied scores keep their input order.
    order = np.lexsort((-scores, query))
    gains = grades if gain == "linear" else np.exp2(grades) - 1
    ranked_gains, ranked_scores, ranked_relevant = gains[order], scores[order], relevant[order]

    hits = ranked_relevant & (position < k)
    hits_cumulative = np.cumsum(hits)
    hits_before = np.r_[0, hits_cumulative][starts]
    hits_within = hits_cumulative - hits_before[query]
    hits_per_query = np.add.reduceat(hits, starts, dtype=np.int64)
    precision_at_i = np.where(hits, hits_within / (position + 1), 0.0)
    first_relevant = np.minimum.reduceat(np.where(ranked_relevant, position, n), starts)

    # NDCG with tied scores sharing the average gain of their group: the expectation over every
    # order in which the ties could be broken (McSherry & Najork 2008), as scikit-learn does.
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (query[1:] != query[:-1]) | (ranked_scores[1:] != ranked_scores[:-1])
    group_starts = np.flatnonzero(new_group)
    group_size = np.diff(np.r_[group_starts, n])
    group_gain = np.add.reduceat(ranked_gains, group_starts) / group_size
    group_discount = np.add.reduceat(discount, group_starts)
    dcg = np.bincount(
        query[group_starts], weights=group_gain * group_discount, minlength=lengths.size
    )
    # Gains rise with grades, so sorting by grade gives the ideal order for either gain.
    ideal_gains = gains[np.lexsort((-grades, query))]
    ideal = np.add.reduceat(discount * ideal_gains, starts)

    return {
        "ndcg_at_k": dcg / ideal,
        "precision_at_k": hits_per_query / k,
        "recall_at_k": hits_per_query / n_relevant,
        "mrr": 1 / (first_relevant + 1),
        "map_at_k": np.add.reduceat(precision_at_i, starts) / np.minimum(k, n_relevant),
        "evaluated": n_relevant > 0,
    }


def _ranking_inputs(
    y_true: Any, y_score: Any, k: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Grades and scores laid end to end, each query's length, and k, all validated."""
    grades, lengths = _queries(y_true, "y_true")
    scores, score_lengths = _queries(y_score, "y_score")
    if lengths.size != score_lengths.size:
        raise InputError(
            "y_score",
            f"the number of queries differs: y_true has {lengths.size:,}, y_score has "
            f"{score_lengths.size:,}; they must match",
        )
    differ = np.flatnonzero(lengths != score_lengths)
    if differ.size:
        q = int(differ[0])
        raise InputError(
            "y_score",
            f"query {q + 1} has {lengths[q]} grades in y_true but {score_lengths[q]} "
            "scores in y_score; they must have the same length",
        )
    negative = np.flatnonzero(grades < 0)
    if negative.size:
        ends = np.cumsum(lengths)
        q = int(np.searchsorted(ends, negative[0], side="right"))
        lowest = grades[ends[q] - lengths[q] : ends[q]].min()
        raise InputError(
            "y_true", f"query {q + 1} has the grade {lowest:g}; relevance grades must be ≥ 0"
        )
    k = whole_number(k, "k", minimum=1)
    return grades, scores, lengths, k


@calculation
def ranking(y_true: Any, y_score: Any, k: Any, gain: Any = "linear") -> dict:
    """Top-k ranking metrics averaged over queries.

    ``y_true`` and ``y_score`` are lists of per-query lists: graded relevance (≥ 0; an item is
    relevant when its grade is above 0) and the model's scores. ``ndcg_at_k`` is scikit-learn's
    ``ndcg_score(k=k)``: log2 discount, tied scores averaged, and the gain of an item is its
    grade (``gain="linear"``, scikit-learn's choice) or 2 ** grade - 1 (``gain="exponential"``,
    as in Burges et al. 2005). The other metrics rank by descending score with ties kept in
    input order: ``precision_at_k`` (relevant in the top k / k, so a query shorter than k
    counts the missing places as misses), ``recall_at_k``, ``mrr`` (1 / rank of the first
    relevant item in the whole ranking) and ``map_at_k`` (Σ_{i≤k} P@i·rel_i / min(k, number
    relevant)).

    A query with no relevant item has precision 0 (none of its top k is relevant), and counts
    in the precision average like any other. It has no recall, no reciprocal rank and no
    average precision, and its NDCG is 0/0: those four averages leave it out (scikit-learn
    would count its NDCG as 0) and a warning says how many were left out. ``queries`` is the
    number of queries and ``queries_evaluated`` the number with a relevant item; when it is 0,
    those four metrics are None.
    """
    grades, scores, lengths, k = _ranking_inputs(y_true, y_score, k)
    if gain not in GAINS:
        raise InputError(
            "gain", f"{show_value(gain)} is not allowed; gain must be 'linear' or 'exponential'"
        )

    per_query = _ranking_per_query(grades, scores, lengths, k, gain)
    evaluated = per_query.pop("evaluated")
    queries_evaluated = int(np.count_nonzero(evaluated))
    warnings: list[str] = []
    skipped = lengths.size - queries_evaluated
    if skipped:
        warnings.append(
            f"{skipped} of {lengths.size} queries have no relevant item (every grade is 0); "
            "recall, reciprocal rank, average precision and NDCG are undefined for them, so "
            "they are left out of those averages; precision_at_k counts them as 0"
        )
    if lengths.min() < k:
        warnings.append(
            f"some queries have fewer than k = {k} items; precision_at_k still divides by k"
        )
    result: dict[str, Any] = {
        name: (np.mean(values[evaluated]) if queries_evaluated else None)
        for name, values in per_query.items()
    }
    result["precision_at_k"] = np.mean(per_query["precision_at_k"])
    result.update(
        k=k, gain=gain, queries=int(lengths.size), queries_evaluated=queries_evaluated,
        warnings=warnings,
    )  # fmt: skip
    return result


# --- Recommendation lists: hit rate, catalog coverage and diversity ----------------------------


@calculation
def hit_rate_at_k(y_true: Any, y_score: Any, k: Any) -> dict:
    """Share of queries (users) with at least one relevant item in the top k.

    Takes the same per-query lists as :func:`ranking` and ranks the same way (descending score,
    ties in input order). Queries without a relevant item cannot be hit or missed: they are left
    out and a warning counts them. ``recall_at_k`` is given beside it; the two are equal when
    every query has exactly one relevant item, as in leave-one-out evaluation.
    """
    grades, scores, lengths, k = _ranking_inputs(y_true, y_score, k)
    per_query = _ranking_per_query(grades, scores, lengths, k, "linear")
    evaluated = per_query["evaluated"]
    queries_evaluated = int(np.count_nonzero(evaluated))
    recall = per_query["recall_at_k"][evaluated]
    hits = int(np.count_nonzero(recall > 0))
    warnings = []
    skipped = lengths.size - queries_evaluated
    if skipped:
        warnings.append(
            f"{skipped} of {lengths.size} queries have no relevant item (every grade is 0) and "
            "are left out: they can be neither hit nor missed"
        )
    return {
        "hit_rate_at_k": hits / queries_evaluated if queries_evaluated else None,
        "recall_at_k": np.mean(recall) if queries_evaluated else None,
        "hits": hits,
        "k": k,
        "queries": int(lengths.size),
        "queries_evaluated": queries_evaluated,
        "warnings": warnings,
    }


def _id_lists(value: Any, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-list item ids (integers or strings) laid end to end, and each list's length."""
    lists = bounded_list(value, field, limit=MAX_VALUES, what="lists of item ids")
    for position, items in enumerate(lists, start=1):
        if not isinstance(items, list | tuple) or not items:
            shown = show_value(items) if items else "empty"
            raise InputError(
                field, f"list {position} is {shown}; each list must be a non-empty list of ids"
            )
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    if lengths.sum() > MAX_VALUES:
        raise InputError(
            field, f"has more than {MAX_VALUES:,} ids in all; at most that many are allowed"
        )
    try:
        ids = class_labels(list(itertools.chain.from_iterable(lists)), field)
    except InputError:
        for position, items in enumerate(lists, start=1):
            try:
                class_labels(items, field)
            except InputError as error:
                raise InputError(field, f"list {position}: {error.message}") from None
        raise  # the lists are each fine but mix integer and text ids between them
    return np.array(ids), lengths


@calculation
def coverage_and_diversity(recommendations: Any, catalog_size: Any, categories: Any = None) -> dict:
    """How much of the catalog the recommendation lists use, and how evenly.

    ``recommendations`` holds one list of item ids per user (integers or strings). ``coverage``
    is the share of the ``catalog_size`` items that appear in at least one list. ``gini`` is the
    Gini index of how often each catalog item is recommended, unrecommended items included as 0:
    0 when every item is shown equally often, (n - 1)/n when one item takes every slot.
    ``entropy_bits`` is the Shannon entropy of the recommended items' shares of all slots, and
    ``normalised_entropy`` divides it by log2(catalog_size), its largest value.

    With ``categories`` (a category per recommended item, lists of the same shapes),
    ``intra_list_diversity`` is the mean over lists of at least two items of the share of pairs
    of items in different categories.
    """
    items, lengths = _id_lists(recommendations, "recommendations")
    catalog_size = whole_number(catalog_size, "catalog_size", minimum=1)
    _, counts = np.unique(items, return_counts=True)
    distinct = counts.size
    if distinct > catalog_size:
        raise InputError(
            "catalog_size",
            f"is {catalog_size:,} but the lists name {distinct:,} distinct items; the catalog "
            "holds at least every item recommended",
        )
    slots = int(lengths.sum())
    shares = counts / slots
    entropy = -np.sum(shares * np.log2(shares))
    # Gini over the whole catalog, ascending: the never-recommended items are the first zeros.
    position = catalog_size - distinct + 1 + np.arange(distinct, dtype=np.float64)
    gini = np.sum((2 * position - catalog_size - 1) * np.sort(counts)) / (catalog_size * slots)

    warnings: list[str] = []
    diversity = None
    if categories is not None:
        labels, label_lengths = _id_lists(categories, "categories")
        if not np.array_equal(label_lengths, lengths):
            raise InputError(
                "categories",
                "needs one category per recommended item: the same number of lists as "
                "recommendations, each as long as its list",
            )
        diversity = _intra_list_diversity(labels, lengths)
        if diversity is None:
            warnings.append("intra_list_diversity is undefined: no list has two items")
    if catalog_size == 1:
        warnings.append("normalised_entropy is undefined: the catalog has one item")
    return {
        "coverage": distinct / catalog_size,
        "distinct_items": distinct,
        "catalog_size": catalog_size,
        "lists": int(lengths.size),
        "slots": slots,
        "gini": gini,
        "entropy_bits": entropy,
        "normalised_entropy": entropy / np.log2(catalog_size) if catalog_size > 1 else None,
        "intra_list_diversity": diversity,
        "warnings": warnings,
    }


def _intra_list_diversity(labels: np.ndarray, lengths: np.ndarray) -> float | None:
    """Mean over lists of two or more items of the share of item pairs in different categories."""
    _, codes = np.unique(labels, return_inverse=True)
    owner = np.repeat(np.arange(lengths.size), lengths)
    # Pairs within one (list, category) group are the same-category pairs of that list.
    groups, group_size = np.unique(owner * (codes.max() + 1) + codes, return_counts=True)
    same = np.bincount(
        groups // (codes.max() + 1), weights=group_size * (group_size - 1) / 2,
        minlength=lengths.size,
    )  # fmt: skip
    pairs = lengths * (lengths - 1) / 2
    judged = pairs > 0
    if not judged.any():
        return None
    return float(np.mean(1 - same[judged] / pairs[judged]))
