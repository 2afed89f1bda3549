"""The pages the benchmark visits, shared by the load runs and the query counts."""

from __future__ import annotations

CONCEPT = "kafka"
METRIC = "precision"
STEP = "problem-clarification"
PROMPT = "business_goal"  # a Markdown prompt of that step: autosave renders it

ANONYMOUS = {
    "concept page": f"/concepts/{CONCEPT}/",
    "concept list": "/concepts/",
    "metric page": f"/metrics/{METRIC}/",
    "search “latency budget”": "/search/?q=latency%20budget&all=1",
    "search typo “kafak”": "/search/?q=kafak&all=1",
}


def signed_in(doc: int) -> dict[str, str]:
    """The pages of a signed-in user whose doc is ``doc``."""
    return {
        "doc list (signed in)": "/docs/",
        "wizard step (signed in)": f"/docs/{doc}/steps/{STEP}/",
        "concept page (signed in)": f"/concepts/{CONCEPT}/",
    }


def autosave(doc: int) -> str:
    return f"/docs/{doc}/answers/{PROMPT}/"


CALCULATOR = "/api/calculators/binary-classification"

# What the autosave load types, in turn: two versions of a realistic answer (each save changes it).
AUTOSAVE_TEXTS = (
    "**Goal:** keep subscribers watching: recommend titles that each member finishes, so that "
    "fewer people cancel in their first three months.\n\n"
    "**Business metric:** 90-day [[metric:user-retention|retention]], with watch time per "
    "member alongside. **Guardrails:** home page [[latency]] at p99, complaints about "
    "repetitive rows, and catalogue coverage.\n\n"
    "- Success: retention up 0.5 points in a four-week A/B test.\n"
    "- Failure: watch time rises but cancellations do not fall.",
    "**Goal:** keep subscribers watching: recommend titles that each member finishes, so that "
    "fewer people cancel in their first two months.\n\n"
    "**Business metric:** 60-day [[metric:user-retention|retention]], with watch time per "
    "member alongside. **Guardrails:** home page [[latency]] at p99, complaints about "
    "repetitive rows, and catalogue coverage.\n\n"
    "- Success: retention up 1 point in a four-week A/B test.\n"
    "- Failure: watch time rises but cancellations do not fall.",
)
