from __future__ import annotations

from django.db import models

from apps.concepts.models import Concept
from apps.core.markdown import latex_to_mathml, sanitise
from apps.core.models import MarkdownPage, shown_on_pages


@shown_on_pages
class Family(models.Model):
    """A group of metrics for one kind of task, read in order."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    order = models.PositiveSmallIntegerField(unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["order"]
        verbose_name_plural = "families"

    def __str__(self) -> str:
        return self.name


class MetricQuerySet(models.QuerySet):
    def for_cards(self):
        return self.only("slug", "name", "summary", "family_id", "order")


class Metric(MarkdownPage):
    """A metric's reference page. Its body has the sections Definition, When to use it,
    Pitfalls, Worked example, and Offline and online."""

    CALCULATORS = [
        ("binary-classification", "Binary classification"),
        ("multiclass-classification", "Multiclass classification"),
        ("regression", "Regression"),
        ("ranking", "Ranking"),
        ("iou", "IoU of two boxes"),
        ("detection", "Object detection (COCO mAP)"),
        ("segmentation", "Segmentation (mIoU)"),
        ("discounted-return", "Discounted return"),
        ("latency", "Latency percentiles"),
        ("throughput", "Throughput"),
        ("energy", "Energy"),
        ("ctr", "Click-through rate"),
        ("dau-mau", "DAU/MAU stickiness"),
        ("retention", "Retention"),
        ("conversion-rate", "Conversion rate"),
        ("calibration", "Calibration (ECE, Brier, reliability diagram)"),
        ("operating-point", "Precision at recall, recall at precision, FPR at recall"),
        ("top-k-accuracy", "Top-k accuracy"),
        ("prevalence", "Prevalence and predictive values"),
        ("percentage-errors", "MAPE, sMAPE and WAPE"),
        ("pinball-loss", "Pinball (quantile) loss"),
        ("hit-rate", "Hit rate@k"),
        ("coverage", "Catalog coverage and diversity"),
        ("perplexity", "Perplexity"),
        ("bleu", "BLEU"),
        ("word-error-rate", "Word error rate"),
        ("fraud-loss-rate", "Fraud loss rate and false declines"),
        ("search-success", "Search success and zero-result rates"),
        ("gmv", "GMV and take rate"),
        ("ecpm", "eCPM"),
    ]

    link_prefix = "metric"
    page_kind = "metric"
    title_field = "name"
    url_name = "metrics:detail"

    name = models.CharField(max_length=120)
    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="metrics")
    order = models.PositiveIntegerField(default=0)
    formula = models.TextField(blank=True, help_text="LaTeX, rendered to MathML on save.")
    formula_html = models.TextField(editable=False, default="")
    value_range = models.CharField("range", max_length=40, blank=True, help_text="e.g. [0, 1]")
    higher_is_better = models.BooleanField(
        null=True,
        default=True,
        help_text="Empty for a property of the data that is neither good nor bad (prevalence).",
    )
    calculator = models.CharField(max_length=40, blank=True, choices=CALCULATORS)
    example = models.JSONField(
        default=dict,
        blank=True,
        help_text="The worked example's calculator input and expected values; checked by tests.",
    )
    related = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="+")
    concepts = models.ManyToManyField(Concept, blank=True, related_name="metrics")

    objects = MetricQuerySet.as_manager()

    class Meta:
        ordering = ["family__order", "order", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return self.url_for(self.slug)

    def render(self):
        self.formula_html = (
            sanitise(latex_to_mathml(self.formula, display=True)) if self.formula else ""
        )
        return super().render()

    @property
    def direction(self) -> str:
        if self.higher_is_better is None:
            return "Neither: it describes the data, not a model"
        return "Higher is better" if self.higher_is_better else "Lower is better"
