"""Language and speech: perplexity from token log-probabilities, corpus BLEU as sacrebleu computes
it by default, and word error rate as jiwer computes it."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from typing import Any

import numpy as np

from apps.metrics.computations.inputs import (
    InputError,
    bounded_list,
    finite_number,
    number_list,
    same_length,
    show_value,
)
from apps.metrics.computations.outputs import calculation

# Size limits for text. BLEU costs time in proportion to the characters it reads; word error
# rate costs (reference words) x (hypothesis words) per sentence. At these caps the largest
# request of either is computed in about a quarter of a second of one core (measured on the
# 2-core development machine), like the other calculators' limits.
MAX_SEGMENTS = 1_000
"""Most sentences (segments) in one request, for BLEU and word error rate."""
MAX_TEXT_CHARACTERS = 250_000
"""Most characters in one request, all hypotheses and references together."""
MAX_SEGMENT_WORDS = 100
"""Most words in one sentence, for word error rate: its cost is the product of two lengths."""
MAX_REFERENCES = 4
"""Most references for one hypothesis, for BLEU."""


# --- Perplexity -------------------------------------------------------------------------------


@calculation
def perplexity(logprobs: Any) -> dict:
    """Perplexity of a model on a text from the natural-log probability of each token.

    ``cross_entropy`` is the mean negative log-probability in nats, ``bits_per_token`` the same
    in bits, and ``perplexity`` is exp(cross_entropy): the number of equally likely choices
    that would leave the model as uncertain. All tokens of all documents count equally, so a
    corpus's perplexity comes from its tokens laid end to end.
    """
    values = number_list(logprobs, "logprobs")
    positive = np.flatnonzero(values > 0)
    if positive.size:
        i = int(positive[0])
        raise InputError(
            "logprobs",
            f"{show_value(logprobs[i])} (item {i + 1}) is above 0; a log-probability is the "
            "natural log of a probability, so it is at most 0",
        )
    cross_entropy = -np.mean(values)
    return {
        "perplexity": np.exp(cross_entropy),
        "cross_entropy": cross_entropy,
        "bits_per_token": cross_entropy / math.log(2),
        "tokens": values.size,
        "warnings": [],
    }


# --- Reading sentences ------------------------------------------------------------------------


def _sentence(value: Any, field: str, position: int) -> str:
    if not isinstance(value, str):
        raise InputError(field, f"{show_value(value)} (item {position}) is not text")
    return value


def _sentences(value: Any, field: str) -> list[str]:
    items = bounded_list(value, field, limit=MAX_SEGMENTS, what="sentences")
    return [_sentence(item, field, i) for i, item in enumerate(items, start=1)]


def _within_text_limit(hypotheses: list[str], references: list[str]) -> None:
    """Refuse more than MAX_TEXT_CHARACTERS in all, naming the side that holds more."""
    sizes = {
        "hypotheses": sum(map(len, hypotheses)),
        "references": sum(map(len, references)),
    }
    characters = sum(sizes.values())
    if characters > MAX_TEXT_CHARACTERS:
        raise InputError(
            max(sizes, key=sizes.get),
            f"the sentences hold {characters:,} characters in all; at most "
            f"{MAX_TEXT_CHARACTERS:,} are allowed, hypotheses and references together",
        )


# --- BLEU -------------------------------------------------------------------------------------

MAX_ORDER = 4
TOKENIZERS = ("13a", "none")
SMOOTHING = {"exp": None, "floor": 0.1, "add-k": 1.0, "none": None}
"""BLEU's smoothing methods and their default values, as in sacrebleu (Chen and Cherry 2014)."""

# The 13a tokenizer of mteval-v13a.pl, the WMT standard: ASCII punctuation except the
# apostrophe, hyphen, period and comma becomes a token of its own; a period or comma does too
# unless it sits between digits; a hyphen after a digit is split off.
_13A_RULES = [
    (re.compile(r"([ -&(-+/:-@\[-`{-~])"), r" \1 "),
    (re.compile(r"([^0-9])([.,])"), r"\1 \2 "),
    (re.compile(r"([.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]
_13A_ENTITIES = (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))


def tokenize_13a(line: str) -> list[str]:
    """Words of ``line`` as the 13a tokenizer splits them."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        for entity, character in _13A_ENTITIES:
            line = line.replace(entity, character)
    line = f" {line} "
    for pattern, replacement in _13A_RULES:
        line = pattern.sub(replacement, line)
    return line.split()


def _bleu_words(sentence: str, tokenize: str, lowercase: bool) -> list[str]:
    if lowercase:
        sentence = sentence.lower()
    sentence = sentence.rstrip()
    return tokenize_13a(sentence) if tokenize == "13a" else sentence.split()


def _ngrams(words: list[str]) -> Counter:
    """How often each n-gram of 1 to MAX_ORDER words occurs, as tuples of words."""
    return Counter(
        itertools.chain.from_iterable(
            zip(*(words[i:] for i in range(n)), strict=False) for n in range(1, MAX_ORDER + 1)
        )
    )


def _closest_length(length: int, reference_lengths: list[int]) -> int:
    # The reference length nearest the hypothesis; of two equally near, the shorter.
    return min(reference_lengths, key=lambda r: (abs(length - r), r))


def _references(value: Any, hypotheses: int) -> list[list[str]]:
    items = bounded_list(value, "references", limit=MAX_SEGMENTS, what="lists of references")
    if len(items) != hypotheses:
        raise InputError(
            "references",
            f"has {len(items):,} lists but there are {hypotheses:,} hypotheses; give one list "
            "of references per hypothesis",
        )
    references = []
    for position, item in enumerate(items, start=1):
        if not isinstance(item, list | tuple) or not 1 <= len(item) <= MAX_REFERENCES:
            raise InputError(
                "references",
                f"item {position} must be a list of 1 to {MAX_REFERENCES} reference sentences, "
                f"got {show_value(item) if item else 'an empty list'}",
            )
        references.append([_sentence(text, "references", position) for text in item])
    return references


@calculation
def bleu(
    hypotheses: Any,
    references: Any,
    smooth_method: Any = "exp",
    smooth_value: Any = None,
    lowercase: Any = False,
    tokenize: Any = "13a",
) -> dict:
    """Corpus BLEU on a 0-100 scale, as ``sacrebleu.corpus_bleu`` computes it by default.

    ``references`` holds a list of 1 to MAX_REFERENCES reference sentences for each hypothesis.
    Sentences are tokenised by 13a (or only split on white space with ``tokenize="none"``) and
    optionally lowercased. n-grams of 1 to 4 words are counted over the whole corpus, each
    hypothesis n-gram matching at most as often as it occurs in one of its references;
    ``precisions`` are the four modified precisions in per cent. The brevity penalty compares
    the hypotheses' length with the sum of, for each hypothesis, the reference length nearest
    its own (the shorter of two equally near).

    ``smooth_method`` is sacrebleu's: ``exp`` (the default, as mteval-v13a: the n-th order with
    no match counts 1 / 2^m matches, m the number of such orders so far), ``floor`` (0 matches
    count ``smooth_value``, default 0.1), ``add-k`` (``smooth_value``, default 1, added to the
    matches and totals of orders 2 to 4) or ``none``. As in sacrebleu, BLEU is 0 when nothing
    matches, and when no hypothesis is long enough for some order of n-gram.
    """
    texts = _sentences(hypotheses, "hypotheses")
    reference_texts = _references(references, len(texts))
    _within_text_limit(texts, [text for group in reference_texts for text in group])
    if smooth_method not in SMOOTHING:
        raise InputError(
            "smooth_method",
            f"{show_value(smooth_method)} is not allowed; use 'exp', 'floor', 'add-k' or 'none'",
        )
    if smooth_value is None:
        smooth_value = SMOOTHING[smooth_method]
    else:
        smooth_value = finite_number(smooth_value, "smooth_value")
        if smooth_value < 0:
            raise InputError(
                "smooth_value", f"{show_value(smooth_value)} is not allowed; it must be ≥ 0"
            )
    if not isinstance(lowercase, bool):
        raise InputError("lowercase", f"must be true or false, got {show_value(lowercase)}")
    if tokenize not in TOKENIZERS:
        raise InputError("tokenize", f"{show_value(tokenize)} is not allowed; use '13a' or 'none'")

    matches = [0] * MAX_ORDER
    totals = [0] * MAX_ORDER
    hypothesis_length = reference_length = 0
    for text, reference_group in zip(texts, reference_texts, strict=True):
        words = _bleu_words(text, tokenize, lowercase)
        reference_words = [_bleu_words(r, tokenize, lowercase) for r in reference_group]
        hypothesis = _ngrams(words)
        counted = [_ngrams(reference) for reference in reference_words]
        # An n-gram matches at most as often as it occurs in the reference that has most of it.
        # Only n-grams on both sides can match, and set operations on the keys find them in C.
        for gram in hypothesis.keys() & set().union(*counted):
            clip = max(reference.get(gram, 0) for reference in counted)
            matches[len(gram) - 1] += min(hypothesis[gram], clip)
        for n in range(MAX_ORDER):
            totals[n] += max(len(words) - n, 0)
        hypothesis_length += len(words)
        reference_length += _closest_length(len(words), [len(r) for r in reference_words])

    score, precisions = _bleu_score(matches, totals, smooth_method, smooth_value)
    if hypothesis_length < reference_length:
        penalty = math.exp(1 - reference_length / hypothesis_length) if hypothesis_length else 0.0
    else:
        penalty = 1.0
    warnings = []
    if score == 0:
        warnings.append(f"bleu is 0: {_why_zero(matches, totals)}")
    return {
        "bleu": penalty * score,
        "precisions": precisions,
        "brevity_penalty": penalty,
        "length_ratio": hypothesis_length / reference_length if reference_length else 0.0,
        "hypothesis_length": hypothesis_length,
        "reference_length": reference_length,
        "matches": matches,
        "totals": totals,
        "smooth_method": smooth_method,
        "smooth_value": smooth_value,
        "lowercase": lowercase,
        "tokenize": tokenize,
        "segments": len(texts),
        "warnings": warnings,
    }


def _why_zero(matches: list[int], totals: list[int]) -> str:
    if not any(matches):
        return "no word of any hypothesis occurs in its references"
    if not all(totals):
        n = totals.index(0) + 1
        return (
            f"no hypothesis has {n} words, so there are no {n}-grams to match; BLEU needs "
            "longer segments"
        )
    n = matches.index(0) + 1
    return f"no {n}-gram matches and the smoothing gives that order no credit"


def _bleu_score(
    matches: list[int], totals: list[int], smooth_method: str, smooth_value: float | None
) -> tuple[float, list[float]]:
    """The geometric mean of the smoothed precisions (0 to 100), before the brevity penalty,
    and the precisions in per cent, with sacrebleu's arithmetic so that the floats agree."""
    precisions = [0.0] * MAX_ORDER
    if not any(matches):
        return 0.0, precisions
    matched, counted = list(matches), list(totals)
    halvings = 1.0
    for n in range(MAX_ORDER):
        if smooth_method == "add-k" and n > 0:
            matched[n] += smooth_value
            counted[n] += smooth_value
        if counted[n] == 0:
            break
        if matched[n]:
            precisions[n] = 100.0 * matched[n] / counted[n]
        elif smooth_method == "exp":
            halvings *= 2
            precisions[n] = 100.0 / (halvings * counted[n])
        elif smooth_method == "floor":
            precisions[n] = 100.0 * smooth_value / counted[n]
    if not all(precisions):
        # sacrebleu floors log(0) at -9999999999, which makes the score exactly 0.
        return 0.0, precisions
    return math.exp(sum(math.log(p) for p in precisions) / MAX_ORDER), precisions


# --- Word error rate --------------------------------------------------------------------------


def _words(texts: list[str], field: str) -> list[list[str]]:
    sentences = []
    for position, text in enumerate(texts, start=1):
        words = text.split()
        if len(words) > MAX_SEGMENT_WORDS:
            raise InputError(
                field,
                f"sentence {position} has {len(words):,} words; at most {MAX_SEGMENT_WORDS:,} "
                "are allowed",
            )
        sentences.append(words)
    return sentences


def _padded(ids: np.ndarray, lengths: np.ndarray, order: np.ndarray, fill: int) -> np.ndarray:
    """Sentences laid end to end as one row each, in ``order``, padded with ``fill``."""
    starts = np.cumsum(lengths) - lengths
    table = np.full((lengths.size, int(lengths.max(initial=0))), fill, dtype=np.int64)
    sentence = np.repeat(np.arange(lengths.size), lengths)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    table[rank[sentence], np.arange(ids.size) - starts[sentence]] = ids
    return table


def word_edit_distances(
    reference_ids: np.ndarray,
    reference_lengths: np.ndarray,
    hypothesis_ids: np.ndarray,
    hypothesis_lengths: np.ndarray,
) -> np.ndarray:
    """The word-level Levenshtein distance of each pair of sentences.

    Each side is given as word ids laid end to end, with each sentence's length. One row of the
    edit-distance table at a time, for all pairs at once: memory grows with the number of pairs
    times the longest hypothesis, never with the product of two lengths. Within a row,
    D[i][j] = min over l ≤ j of (A[l] + j - l), where A[l] is the better of a deletion or a
    substitution (or match) from the row above; a running minimum computes it in one pass.
    Pairs are sorted by reference length, longest first, so that row i is computed only for
    the pairs whose reference has an i-th word.
    """
    order = np.argsort(-reference_lengths, kind="stable")
    sorted_lengths = reference_lengths[order]
    references = _padded(reference_ids, reference_lengths, order, -1)
    hypotheses = _padded(hypothesis_ids, hypothesis_lengths, order, -2)
    pairs, longest_hypothesis = hypotheses.shape
    # Distances never exceed MAX_SEGMENT_WORDS, so 16 bits hold them and halve memory traffic.
    columns = np.arange(longest_hypothesis + 1, dtype=np.int16)
    row = np.broadcast_to(columns, (pairs, longest_hypothesis + 1)).copy()
    following = np.empty_like(row)
    substitution = np.empty((pairs, longest_hypothesis), dtype=np.int16)
    for i in range(1, references.shape[1] + 1):
        active = int(np.count_nonzero(sorted_lengths >= i))
        above, best, cost = row[:active], following[:active], substitution[:active]
        np.not_equal(hypotheses[:active], references[:active, i - 1 : i], out=cost)
        np.add(above[:, :-1], cost, out=cost)
        np.add(above[:, 1:], 1, out=best[:, 1:])
        np.minimum(best[:, 1:], cost, out=best[:, 1:])
        best[:, 0] = i
        np.subtract(best, columns, out=best)
        np.minimum.accumulate(best, axis=1, out=best)
        np.add(best, columns, out=above)
    distances = np.empty(pairs, dtype=np.int64)
    distances[order] = row[np.arange(pairs), hypothesis_lengths[order]]
    return distances


@calculation
def word_error_rate(references: Any, hypotheses: Any) -> dict:
    """Word error rate of transcripts against reference transcripts, as ``jiwer.wer``.

    Words are separated by white space and compared exactly (case and punctuation count).
    ``wer`` is the minimum number of word substitutions, deletions and insertions that turn
    every hypothesis into its reference, summed over sentences, divided by the number of
    reference words: the corpus rate, not the mean of per-sentence rates. It can exceed 1. It is
    None with a warning when the references hold no word at all (jiwer then reports the
    insertion count). ``per_sentence`` gives each sentence's edits and reference words.
    """
    reference_texts = _sentences(references, "references")
    hypothesis_texts = _sentences(hypotheses, "hypotheses")
    same_length(reference_texts, "references", hypothesis_texts, "hypotheses")
    _within_text_limit(hypothesis_texts, reference_texts)
    reference_words = _words(reference_texts, "references")
    hypothesis_words = _words(hypothesis_texts, "hypotheses")
    reference_lengths = np.fromiter(map(len, reference_words), dtype=np.int64)
    hypothesis_lengths = np.fromiter(map(len, hypothesis_words), dtype=np.int64)
    every_word = list(itertools.chain(*reference_words, *hypothesis_words))
    vocabulary = {word: i for i, word in enumerate(dict.fromkeys(every_word))}
    ids = np.fromiter(map(vocabulary.__getitem__, every_word), dtype=np.int64)
    total_reference = int(reference_lengths.sum())
    edits = word_edit_distances(
        ids[:total_reference], reference_lengths, ids[total_reference:], hypothesis_lengths
    )
    warnings = []
    if total_reference == 0:
        warnings.append(
            "wer is undefined: the references hold no words (jiwer reports the number of "
            "inserted words instead)"
        )
    total_edits = int(edits.sum())
    return {
        "wer": total_edits / total_reference if total_reference else None,
        "edits": total_edits,
        "reference_words": total_reference,
        "hypothesis_words": ids.size - total_reference,
        "sentences": len(reference_words),
        "per_sentence": [
            {"edits": e, "reference_words": r}
            for e, r in zip(edits.tolist(), reference_lengths.tolist(), strict=True)
        ],
        "warnings": warnings,
    }
