"""Which metrics to use: offline metrics for the model and the online metrics to pair them with.

The rules are deliberately few and explicit, so a reader can see why a metric is recommended.
The design-doc wizard asks the same questions and reuses :func:`recommend`.
"""

from __future__ import annotations

from dataclasses import dataclass

TASKS = [
    ("binary", "Binary classification"),
    ("multiclass", "Multiclass classification"),
    ("regression", "Regression"),
    ("ranking", "Ranking or recommendation"),
    ("detection", "Object detection"),
    ("segmentation", "Segmentation"),
    ("rl", "Reinforcement learning"),
    ("language", "Language: translation, speech recognition, text generation"),
]
IMBALANCE = [
    ("balanced", "Roughly balanced (minority above 20 %)"),
    ("moderate", "Moderate (minority 2–20 %)"),
    ("severe", "Severe (minority below 2 %)"),
]
COSTLIER = [
    ("equal", "About the same"),
    ("fp", "False positives (false alarms) cost more"),
    ("fn", "False negatives (misses) cost more"),
]


NEUTRAL = {"imbalance": "balanced", "costlier": "equal"}
"""The answer the chooser page assumes (and shows checked) for a question left unanswered."""

UNANSWERED = ""
"""An imbalance nobody has stated (the wizard's question left blank): the advice then claims
no balance either way, and leaves out what only one answer would justify (accuracy first,
or the rare-positive metrics)."""

QUESTIONS: dict[str, tuple[str, ...]] = {
    "binary": ("imbalance", "costlier", "ranked"),
    "multiclass": ("imbalance", "costlier", "ranked"),
    "regression": ("ranked",),
    "ranking": (),
    "detection": (),
    "segmentation": (),
    "rl": (),
    "language": (),
}
"""The questions after the task that change the advice for it: class balance and error costs
only for classifiers, and whether users see a ranked list only for models whose output is not
already a ranking (or boxes, masks, actions)."""


@dataclass(frozen=True)
class Recommendation:
    slug: str
    reason: str


@dataclass(frozen=True)
class Advice:
    offline: list[Recommendation]
    online: list[Recommendation]
    system: list[Recommendation]


def _classification(imbalance: str, costlier: str) -> list[Recommendation]:
    picks: list[Recommendation] = []
    if imbalance == "balanced":
        picks.append(Recommendation("accuracy", "Classes are balanced, so accuracy is honest."))
    elif imbalance != UNANSWERED:
        picks.append(
            Recommendation(
                "pr-auc",
                "With a rare positive class, PR-AUC shows how well positives are found "
                "without being flattered by the many easy negatives.",
            )
        )
    if costlier == "fp":
        picks.append(Recommendation("precision", "False alarms are expensive: watch precision."))
        picks.append(
            Recommendation("f-beta", "F-beta with beta < 1 (e.g. 0.5) weights precision more.")
        )
    elif costlier == "fn":
        picks.append(Recommendation("recall", "Misses are expensive: watch recall."))
        picks.append(Recommendation("f-beta", "F-beta with beta > 1 (e.g. 2) weights recall more."))
    else:
        picks.append(Recommendation("f1-score", "One number that balances precision and recall."))
    if imbalance == "balanced":
        picks.append(Recommendation("roc-auc", "Threshold-free ranking quality."))
    elif imbalance == UNANSWERED:
        picks.append(
            Recommendation(
                "mcc",
                "MCC uses all four cells of the confusion matrix, so it stays informative "
                "whether the classes are balanced or skewed.",
            )
        )
    else:
        picks.append(
            Recommendation("mcc", "MCC stays informative when classes are skewed, unlike accuracy.")
        )
    picks.append(
        Recommendation("log-loss", "Checks the probabilities themselves, needed when scores are "
                       "used as probabilities (bidding, ranking blends).")
    )  # fmt: skip
    return picks


def recommend(
    task: str, imbalance: str = "balanced", costlier: str = "equal", ranked: bool = False
) -> Advice:
    """Offline, online and system metrics for a task, each with a one-line reason.

    Answers to questions that do not apply to the task (see :data:`QUESTIONS`) are ignored;
    an ``imbalance`` of :data:`UNANSWERED` gets only the advice that holds whatever it is.
    """
    if task not in QUESTIONS:
        raise ValueError(f"unknown task {task!r}")
    asked = QUESTIONS[task]
    ranked = ranked and "ranked" in asked
    if task in {"binary", "multiclass"}:
        offline = _classification(imbalance, costlier)
        if task == "multiclass":
            offline.insert(
                0,
                Recommendation("confusion-matrix", "Shows which classes are confused with which."),
            )
            offline.append(
                Recommendation(
                    "top-k-accuracy",
                    "When the product shows a shortlist (suggested tags, completions, a "
                    "reviewer's candidates), is the right class among the k shown?",
                )
            )
        else:
            offline += _binary_probabilities(imbalance, ranked)
    elif task == "regression":
        offline = [
            Recommendation("mae", "Error in the target's own units; robust to a few outliers."),
            Recommendation("rmse", "Penalises large errors more than MAE; same units."),
            Recommendation("r-squared", "Share of variance explained, comparable across targets."),
            Recommendation(
                "huber-loss", "A training loss between MSE and MAE when outliers exist."
            ),
            Recommendation(
                "mape",
                "Forecasting demand or sales: WAPE (on the MAPE page) weighs errors by volume; "
                "MAPE alone breaks on zero and small actuals.",
            ),
            Recommendation(
                "pinball-loss",
                "When the decision needs a quantile (stock to a service level, a promised "
                "delivery time), score that quantile forecast.",
            ),
        ]
    elif task == "ranking":
        offline = [
            Recommendation("ndcg", "Graded relevance with a position discount: the standard."),
            Recommendation(
                "map-at-k", "Binary relevance, rewards putting all relevant items high."
            ),
            Recommendation("mrr", "When only the first relevant result matters (search, Q&A)."),
            Recommendation("recall-at-k", "For candidate generation: did the item make the cut?"),
            Recommendation(
                "hit-rate-at-k",
                "Recommenders evaluated on one held-out item per user: did it reach the top k?",
            ),
            Recommendation(
                "coverage-and-diversity",
                "Beyond relevance: how much of the catalog the lists use, and how evenly.",
            ),
        ]
    elif task == "detection":
        offline = [
            Recommendation("mean-average-precision", "COCO mAP@[.5:.95] is the common yardstick."),
            Recommendation("average-precision", "Per-class AP shows which classes lag."),
            Recommendation("iou", "Localisation quality of a single box."),
        ]
    elif task == "segmentation":
        offline = [
            Recommendation("miou", "Mean IoU over classes, the standard for semantic masks."),
            Recommendation("iou", "Per-class IoU to find the weak classes."),
        ]
    elif task == "language":
        offline = [
            Recommendation(
                "bleu",
                "Translation and other generation against references: corpus BLEU with "
                "sacrebleu's settings, beside human ratings.",
            ),
            Recommendation(
                "word-error-rate", "Speech recognition: word errors against reference transcripts."
            ),
            Recommendation(
                "perplexity",
                "Language modelling: how well held-out text is predicted, with one tokenizer.",
            ),
        ]
    else:  # rl
        offline = [
            Recommendation("discounted-return", "What the agent optimises, per episode."),
            Recommendation("reward", "Average episode reward, the headline number."),
            Recommendation("q-value", "Check value estimates against observed returns."),
        ]

    if ranked:
        offline.append(
            Recommendation(
                "precision-at-k", "Users see a ranked list: measure the top k they actually see."
            )
        )
        offline.append(Recommendation("ndcg", "Position-aware quality of the ranked output."))

    system = [
        Recommendation("latency-percentiles", "p99 inside the latency budget."),
        Recommendation("throughput", "Peak QPS the serving fleet must sustain."),
    ]
    online = _online(task, ranked) + _business(task, imbalance, ranked)
    return Advice(offline=_unique(offline), online=online, system=system)


def _binary_probabilities(imbalance: str, ranked: bool) -> list[Recommendation]:
    """A binary model's probabilities and operating point, where the question calls for them."""
    picks = []
    if imbalance not in {"balanced", UNANSWERED}:
        picks.append(
            Recommendation(
                "precision-at-recall",
                "Rare positives, as in fraud or moderation: fix the recall you must reach (or the "
                "precision you can act on) and compare models at that operating point.",
            )
        )
        picks.append(
            Recommendation(
                "prevalence",
                "Report the positive rate beside every precision: precision and PR-AUC move with "
                "it even when the model does not.",
            )
        )
    picks.append(
        Recommendation(
            "calibration-error",
            "If anything downstream reads the score as a probability (a bid, an expected-loss "
            "threshold, a price), check calibration bin by bin.",
        )
    )
    if ranked:
        picks.append(
            Recommendation(
                "brier-score",
                "Ads CTR: the auction multiplies the predicted probability by the bid, so score "
                "the probabilities; Brier stays bounded where log loss explodes.",
            )
        )
    return picks


def _business(task: str, imbalance: str, ranked: bool) -> list[Recommendation]:
    """The business metric of the commonest product behind each kind of model."""
    if task == "ranking":
        return [
            Recommendation(
                "search-success-rate",
                "Search: sessions that end in a click or purchase without a rephrased query.",
            ),
            Recommendation(
                "gross-merchandise-value",
                "Marketplaces: the value of what buyers order from the ranked results.",
            ),
        ]
    if task == "binary" and ranked:
        return [
            Recommendation(
                "ecpm", "Ads: revenue per thousand impressions, which a click model moves."
            )
        ]
    if task == "binary" and imbalance not in {"balanced", UNANSWERED}:
        return [
            Recommendation(
                "fraud-loss-rate",
                "Payments fraud: losses in basis points of volume, with the false-decline rate "
                "beside them.",
            )
        ]
    return []


def _online(task: str, ranked: bool) -> list[Recommendation]:
    # Clicks measure a model only where users see its output and may click it: a ranked list,
    # a feed, ads. A fraud or spam model's output is a decision that nobody clicks on.
    if ranked or task == "ranking":
        return [
            Recommendation("ctr", "Do users click what the model puts in front of them?"),
            Recommendation("conversion-rate", "The action the product exists for."),
            Recommendation("user-retention", "Long-term value: do users come back?"),
            Recommendation("engagement-time", "Guardrail: time spent, read with care."),
        ]
    if task == "binary":
        return [
            Recommendation(
                "conversion-rate",
                "False alarms stop legitimate users: the share who still complete the purchase "
                "or sign-up shows what false positives cost the business.",
            ),
            Recommendation(
                "user-retention",
                "Users wrongly blocked, and users hurt by what the model missed (fraud, spam, "
                "abuse), stop coming back.",
            ),
        ]
    return [
        Recommendation("conversion-rate", "The action the product exists for."),
        Recommendation("user-retention", "Long-term value: do users come back?"),
        Recommendation("engagement-time", "Guardrail: time spent, read with care."),
    ]


def _unique(items: list[Recommendation]) -> list[Recommendation]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.slug not in seen:
            seen.add(item.slug)
            out.append(item)
    return out
