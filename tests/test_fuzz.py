"""Random input never breaks the site, every refusal says why, and nothing typed is lost.

a. The JSON API is fuzzed by schemathesis from the site's own OpenAPI schema, in-process through
   the WSGI application: no 5xx, responses as the schema declares them, and every 4xx carries a
   JSON ``detail`` list of ``{"loc", "msg"}`` errors.
b. Every HTML form is fuzzed by Hypothesis: the calculators, the metric chooser, sign-up, sign-in,
   new doc, rename, the wizard's plain POST, autosave, history comparison and search. A 5xx is a
   bug; a 4xx must explain itself; a page that refuses input shows the user's text back.
"""

from __future__ import annotations

import json
import re
import string
import warnings
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.cache import CacheKeyWarning, cache
from django.db import connection
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils.html import escape
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
)

from apps.designdocs.models import Answer, DesignDoc, Prompt, Step
from apps.metrics.forms import FORMS
from apps.metrics.models import Metric
from mlsd_site.wsgi import application
from tests.test_xss import PAYLOADS

pytestmark = pytest.mark.django_db

# Bounded for CI: a handful of examples per target and no deadline (the first request of a test
# pays for template loading). No shrinking either, so that a failing run stays as quick as a
# passing one; the failing example is reported as drawn. Function-scoped fixtures are fine: every
# example asserts invariants that hold whatever earlier examples left in the database.
FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits live in the cache, which outlives each test's database transaction."""
    cache.clear()


# --- a. The JSON API ---------------------------------------------------------------------------

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
# The WSGI transport hands over the body as sent; ask for it uncompressed.
PLAIN = {"Accept-Encoding": "identity"}


def assert_json_detail(response) -> None:
    """A 4xx from the API: ``{"detail": [{"loc": [...], "msg": "..."}, ...]}``."""
    assert response.headers["content-type"][0].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body.get("detail"), list) and body["detail"], body
    for error in body["detail"]:
        assert "loc" in error and isinstance(error["loc"], list), body
        assert isinstance(error.get("msg"), str) and error["msg"].strip(), body


@schema.parametrize()
@settings(FUZZ, max_examples=30)
def test_api_never_fails_and_answers_as_its_schema_says(case, db):
    case.call_and_validate(
        headers=PLAIN,
        checks=[
            not_a_server_error,
            response_schema_conformance,
            content_type_conformance,
            response_headers_conformance,
        ],
    )


@schema.parametrize()
@settings(FUZZ, max_examples=30)
def test_api_explains_every_refusal_in_json(case, db):
    response = case.call(headers=PLAIN)
    if 400 <= response.status_code < 500:
        assert_json_detail(response)


# --- Shared checks for the HTML forms ----------------------------------------------------------

# The site's own error messages, or the heading of Django's stock error pages.
EXPLANATION = re.compile(
    r'class="errorlist|class="field-error|class="form-error|role="alert"'
    r"|<h1>(Not Found|Bad Request \(400\)|403 Forbidden)</h1>"
)


def assert_sound(response, where: str) -> None:
    """No 5xx; a 4xx explains itself in JSON or in an HTML page with an error message."""
    assert response.status_code < 500, f"{where}: {response.status_code}"
    if not 400 <= response.status_code < 500:
        return
    content_type = response.get("Content-Type", "")
    if content_type.startswith("application/json"):
        detail = response.json().get("detail")
        assert isinstance(detail, list) and detail, f"{where}: {response.content[:300]!r}"
        assert all("loc" in error and error.get("msg") for error in detail), detail
    else:
        assert content_type.startswith("text/html"), (
            f"{where}: {response.status_code} {content_type}"
        )
        text = response.content.decode()
        assert EXPLANATION.search(text), (
            f"{where}: {response.status_code} without an explanation: {text[:300]!r}"
        )


def assert_echoed(response, values: dict[str, str], where: str) -> None:
    """A form that did not go through shows back everything the user typed (NUL characters
    may be dropped, as :func:`same_text` allows: the autosave's conflict shows the text as it
    keeps it in the history, while the field keeps what was typed)."""
    text = response.content.decode()
    for name, value in values.items():
        if value.strip():
            shown = escape(value) in text or escape(value.replace("\x00", "")) in text
            assert shown, f"{where}: {name}={value!r} is not on the page any more"


def assert_errors_fit_the_database() -> None:
    # SQLite ignores max_length; PostgreSQL, which production runs, refuses a longer value.
    limit = Answer._meta.get_field("error").max_length
    too_long = [
        error for error in Answer.objects.values_list("error", flat=True) if len(error) > limit
    ]
    assert not too_long, f"Answer.error longer than {limit} characters: {too_long[0][:80]!r}…"


def _holds_nul(value) -> bool:
    """A NUL character anywhere in a JSON value's strings (keys included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


@contextmanager
def nothing_sent_that_postgresql_refuses():
    """Record every query parameter; none may hold a NUL character, in text or in JSON.

    PostgreSQL refuses NUL in text and in jsonb, so such a parameter is a 500 in production
    even where SQLite, in development, stores it without complaint.
    """
    refused: list[str] = []

    def spy(execute, sql, params, many, context):
        rows = params if many else [params]
        for row in rows or ():
            values = row.values() if isinstance(row, dict) else row or ()
            for value in values:
                # Text refuses a raw NUL; jsonb also one escaped, which on PostgreSQL Django
                # sends as psycopg's Jsonb(obj). (The six characters "\u0000" typed into text
                # are stored as typed: no refusal.)
                if isinstance(value, str) and "\x00" in value:
                    refused.append(value)
                elif hasattr(value, "obj") and _holds_nul(value.obj):
                    refused.append(repr(value.obj))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        yield
    assert not refused, f"a NUL character was sent to the database: {refused[0][:80]!r}"


def same_text(stored: str, typed: str) -> bool:
    """Stored as typed; dropping NUL characters (which no database text should hold) is fine."""
    return stored in {typed, typed.replace("\x00", "")}


# --- Strategies --------------------------------------------------------------------------------

number_lists = st.lists(
    st.one_of(st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True)), max_size=8
).map(lambda xs: ", ".join(str(x) for x in xs))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats() | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["image_id", "category_id", "bbox", "score", "iscrowd", "area"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=16,
).map(json.dumps)
boxes = st.lists(
    st.fixed_dictionaries(
        {
            "image_id": st.integers(0, 2),
            "category_id": st.integers(0, 2),
            "bbox": st.lists(st.floats(-5, 50), min_size=3, max_size=5),
            "score": st.floats(0, 1),
        }
    ),
    max_size=4,
).map(json.dumps)
EDGE_CASES = [
    "", " ", "0", "-1", "1e309", "nan", "-inf", "9" * 400, "１２", "٣", "0x10", "1_000", "[]", "{}",
    "null", "a\x00b", "1,2;3\t4\n5", "\r\n", "‮1", "0.5 ms", "12,000 QPS", "1200 qps",
]  # fmt: skip
# A number, then a unit long enough to make any message that quotes it long.
long_units = st.builds(
    lambda n, unit: f"{n} {unit}",
    st.integers(0, 10**6),
    st.text(alphabet=string.ascii_letters, min_size=250, max_size=400),
)
typed = st.one_of(
    st.text(max_size=60),
    number_lists,
    st.from_regex(r"\A[-+0-9., eE\n\t;]{0,40}\Z"),
    json_values,
    boxes,
    long_units,
    st.sampled_from(EDGE_CASES),
    st.sampled_from(PAYLOADS),
)
versions = st.one_of(
    st.integers(-3, 5).map(str),
    st.text(max_size=6),
    st.sampled_from(["", "1e3", "٣", " 2 ", "+1", "1_0", "9" * 30]),
)

# --- b. Calculators, the chooser, search -------------------------------------------------------


@pytest.mark.parametrize("calculator", sorted(FORMS))
@FUZZ
@given(data=st.data())
def test_calculator_survives_random_input_and_keeps_it(client, calculator, data):
    metric = Metric.objects.filter(calculator=calculator).order_by("pk").first()
    assert metric is not None, f"no metric uses the {calculator} calculator"
    fields = list(FORMS[calculator].base_fields)
    posted = data.draw(st.fixed_dictionaries({}, optional=dict.fromkeys(fields, typed)))
    htmx = data.draw(st.booleans())
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(f"/metrics/{metric.slug}/calculate/", posted, headers=headers)
    assert_sound(response, f"{calculator} with {posted!r}")
    assert response.status_code == 200
    if not htmx:
        assert_echoed(response, posted, f"{calculator} calculator")


CHOOSER_PARAMETERS = st.sampled_from(["task", "imbalance", "costlier", "ranked", "x"])


@FUZZ
@given(query=st.dictionaries(CHOOSER_PARAMETERS, typed))
def test_chooser_survives_random_questions(client, query):
    response = client.get("/metrics/choose/", query)
    assert_sound(response, f"/metrics/choose/ with {query!r}")
    assert response.status_code == 200


SEARCH_MODES = {
    "page": ({}, {}),
    "all results": ({"all": "1"}, {}),
    "suggestions": ({}, {"HX-Request": "true", "HX-Target": "search-suggestions"}),
}


@pytest.mark.parametrize("mode", SEARCH_MODES)
@FUZZ
@given(q=typed)
def test_search_survives_random_queries(client, alice, mode, q):
    try:
        resolve("/search/")
    except Resolver404:
        pytest.skip("there is no /search/ page")
    client.force_login(alice)  # signed in, the search also covers the user's own docs
    extra, headers = SEARCH_MODES[mode]
    with nothing_sent_that_postgresql_refuses():
        response = client.get("/search/", {"q": q, **extra}, headers=headers)
    assert_sound(response, f"/search/?q={q!r} ({mode})")
    assert response.status_code in {200, 302}, "an exact name may go straight to its page"


# --- b. Accounts -------------------------------------------------------------------------------


@pytest.fixture
def fast_hashing(settings):
    # Sign-in hashes the password even for an unknown user; the default hasher takes 0.3 s.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@FUZZ
@given(
    form=st.fixed_dictionaries(
        {"username": typed, "email": typed, "password1": typed}, optional={"password2": typed}
    )
)
def test_signup_survives_random_input_and_keeps_it(fast_hashing, form):
    cache.clear()  # each example is a first attempt, not the eleventh from this address
    with nothing_sent_that_postgresql_refuses():
        response = Client().post("/accounts/signup/", form)
    assert_sound(response, f"sign-up with {form!r}")
    assert response.status_code in {200, 302}
    if response.status_code == 200:
        assert_echoed(response, {k: form[k] for k in ("username", "email")}, "sign-up")


@FUZZ
@given(form=st.fixed_dictionaries({"username": typed, "password": typed}))
def test_login_survives_random_input_and_keeps_it(fast_hashing, alice, form):
    cache.clear()  # each example is a first attempt
    with nothing_sent_that_postgresql_refuses():
        response = Client().post("/accounts/login/", form)
    assert_sound(response, f"sign-in with {form!r}")
    assert response.status_code == 200, "nobody signs in with random credentials"
    assert_echoed(response, {"username": form["username"]}, "sign-in")


# --- b. Design docs ----------------------------------------------------------------------------


@pytest.fixture
def doc(alice):
    return DesignDoc.objects.create(owner=alice, title="Fuzzed", problem="Random input.")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


@FUZZ
@given(form=st.fixed_dictionaries({}, optional={"title": typed, "problem": typed}))
def test_new_doc_survives_random_input_and_keeps_it(signed_in, form):
    with nothing_sent_that_postgresql_refuses():
        response = signed_in.post("/docs/new/", form)
    assert_sound(response, f"/docs/new/ with {form!r}")
    assert response.status_code in {200, 302}
    if response.status_code == 200:
        assert_echoed(response, form, "new doc")


@FUZZ
@given(form=st.fixed_dictionaries({}, optional={"title": typed, "problem": typed}))
def test_rename_survives_random_input_and_keeps_it(signed_in, doc, form):
    with nothing_sent_that_postgresql_refuses():
        response = signed_in.post(f"/docs/{doc.pk}/rename/", form)
    assert_sound(response, f"rename with {form!r}")
    assert response.status_code in {302, 400}
    if response.status_code == 400:
        assert_echoed(response, form, "rename")


@FUZZ
@given(data=st.data())
def test_wizard_step_survives_random_values_and_versions(signed_in, alice, data):
    doc = DesignDoc.objects.create(owner=alice, title="Fuzzed")  # each example starts afresh
    steps = list(Step.objects.order_by("order").prefetch_related("prompts"))
    step = data.draw(st.sampled_from(steps))
    prompts = list(step.prompts.all())
    # Some answers were saved before (version 1), so stale versions meet a conflict.
    for prompt in data.draw(st.lists(st.sampled_from(prompts), unique=True)):
        doc.save_answer(prompt, "Saved in another tab", 0)
    chosen = data.draw(st.lists(st.sampled_from(prompts), unique=True, min_size=1))
    posted = {p.key: data.draw(typed) for p in chosen}
    posted |= {f"version_{p.key}": data.draw(versions) for p in chosen}
    posted["go"] = data.draw(st.sampled_from(["next", "previous", "document", "stay", "", "x"]))
    if data.draw(st.booleans()):
        posted["keep"] = f"{data.draw(st.sampled_from(prompts)).key}:{data.draw(versions)}"
    query = f"?keep={data.draw(versions)}" if data.draw(st.booleans()) else ""
    with nothing_sent_that_postgresql_refuses():
        response = signed_in.post(f"/docs/{doc.pk}/steps/{step.slug}/{query}", posted)
    assert_sound(response, f"step {step.slug} with {posted!r}")
    assert_errors_fit_the_database()
    assert response.status_code in {302, 400, 409}, response.status_code
    if response.status_code == 409:
        # Refused because another tab saved first: the user's text is still in the form. (A
        # metric picker or a choice is boxes to tick: a forged value has no text to show.)
        typed_in = [p for p in chosen if p.kind not in {Prompt.Kind.METRICS, Prompt.Kind.CHOICE}]
        # NUL characters are dropped as the text arrives (see same_text).
        shown_back = {p.key: posted[p.key].replace("\x00", "") for p in typed_in}
        assert_echoed(response, shown_back, "wizard conflict")
    if response.status_code == 302:
        answers = doc.answers_by_key()
        for prompt in chosen:
            stored = answers[prompt.key].value
            assert same_text(stored, posted[prompt.key]), f"{prompt.key} was not saved as typed"


def test_an_autosave_conflict_shows_text_with_a_nul_as_it_keeps_it(signed_in, alice):
    """The case the fuzzing below found on 4 Dec: the conflict's "your text" shows what the
    history keeps, the NUL dropped; the field keeps what was typed."""
    doc = DesignDoc.objects.create(owner=alice, title="Conflict")
    doc.save_answer(Prompt.objects.get(key="costlier_error"), "Saved in another tab", 0)
    typed = '<a href="java\x00script:alert(1)">x</a>'
    response = signed_in.post(
        f"/docs/{doc.pk}/answers/costlier_error/",
        {"costlier_error": typed, "version_costlier_error": "0"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409
    assert_echoed(response, {"costlier_error": typed}, "autosave conflict")
    assert escape(typed.replace("\x00", "")) in response.content.decode()


@FUZZ
@given(data=st.data())
def test_autosave_survives_random_values_and_versions(signed_in, alice, data):
    cache.clear()  # each example is within the autosave rate limit
    doc = DesignDoc.objects.create(owner=alice, title="Fuzzed")  # each example starts afresh
    keys = list(Prompt.objects.values_list("key", flat=True))
    key = data.draw(st.one_of(st.sampled_from(keys), st.from_regex(r"\A[a-z_]{1,12}\Z")))
    if key in keys and data.draw(st.booleans()):
        doc.save_answer(Prompt.objects.get(key=key), "Saved in another tab", 0)
    value, version = data.draw(typed), data.draw(versions)
    htmx = data.draw(st.booleans())
    with nothing_sent_that_postgresql_refuses():
        response = signed_in.post(
            f"/docs/{doc.pk}/answers/{key}/",
            {key: value, f"version_{key}": version},
            headers={"HX-Request": "true"} if htmx else {},
        )
    assert_sound(response, f"autosave {key}={value!r} version={version!r}")
    assert_errors_fit_the_database()
    if key not in keys:
        assert response.status_code == 404
    elif response.status_code == 409:
        assert_echoed(response, {key: value}, "autosave conflict")
    elif response.status_code == 200:
        stored = doc.answers.get(prompt__key=key).value
        assert same_text(stored, value), "autosave keeps exactly what was typed"
    elif response.status_code == 302:
        # Without HTMX there is no fragment to show a conflict in: the text is saved, or kept
        # in the document's history.
        stored = doc.answers.get(prompt__key=key).value
        kept = [r.snapshot["answers"].get(key, "") for r in doc.revisions.all()]
        assert any(same_text(text, value) for text in [stored, *kept]), "the typed text is lost"


@FUZZ
@given(data=st.data())
def test_history_survives_random_revision_ids(signed_in, alice, data):
    doc = DesignDoc.objects.create(owner=alice, title="Fuzzed")  # each example starts afresh
    doc.record_revision("Created")
    doc.title = data.draw(st.text(max_size=20).map(lambda t: t.replace("\x00", "")))
    doc.save()
    doc.record_revision("Renamed")
    ids = [str(pk) for pk in doc.revisions.values_list("pk", flat=True)]
    ids_or_junk = st.one_of(st.sampled_from(ids), st.text(max_size=8), st.integers().map(str))
    query = data.draw(st.fixed_dictionaries({}, optional={"a": ids_or_junk, "b": ids_or_junk}))
    with nothing_sent_that_postgresql_refuses():
        response = signed_in.get(f"/docs/{doc.pk}/history/", query)
    assert_sound(response, f"history with {query!r}")
    assert response.status_code in {200, 404}
    if query.get("a") in ids and query.get("b") in ids:
        assert response.status_code == 200 and "diff" in response.content.decode()


# --- What the fuzzers found, pinned as plain examples -------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_api_answers_a_wrong_method_with_a_json_detail(client, method):
    response = getattr(client, method)("/api/calculators/iou")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json"), response.content[:80]
    assert response.json()["detail"][0]["msg"], response.json()


@pytest.mark.parametrize("body", ["not json", "\x00", '{"box_a": [0, 0, 1, 1],'])
def test_api_answers_an_unparseable_body_with_a_detail_list(client, body):
    response = client.post("/api/calculators/iou", body, content_type="application/json")
    assert 400 <= response.status_code < 500
    detail = response.json()["detail"]
    assert isinstance(detail, list), f"detail is {detail!r}, not a list of {{loc, msg}}"
    assert detail[0]["loc"] and detail[0]["msg"]


def test_a_long_unknown_unit_gets_an_error_that_fits_its_column(signed_in, doc):
    typed_value = "12 " + "x" * 300
    response = signed_in.post(
        f"/docs/{doc.pk}/answers/peak_qps/",
        {"peak_qps": typed_value, "version_peak_qps": "0"},
        headers={"HX-Request": "true"},
    )
    assert_sound(response, "autosave of a long unit")
    assert_errors_fit_the_database()
    assert doc.answers.get(prompt__key="peak_qps").value == typed_value


@pytest.mark.parametrize("where", ["autosave", "wizard", "search"])
def test_a_nul_character_never_reaches_the_database(signed_in, doc, where):
    text = "before\x00after"
    with nothing_sent_that_postgresql_refuses():
        if where == "autosave":
            response = signed_in.post(
                f"/docs/{doc.pk}/answers/business_goal/",
                {"business_goal": text, "version_business_goal": "0"},
                headers={"HX-Request": "true"},
            )
        elif where == "wizard":
            response = signed_in.post(
                f"/docs/{doc.pk}/steps/problem-clarification/",
                {"business_goal": text, "version_business_goal": "0"},
            )
        else:
            response = signed_in.get("/search/", {"q": text})
    assert_sound(response, f"{where} with a NUL character")


def test_sign_in_throttle_keys_stay_short_whatever_the_username(fast_hashing):
    # The per-account limit keys the cache by the typed username: without a bound, every failed
    # sign-in may store a key as large as the request body (megabytes) for fifteen minutes.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CacheKeyWarning)
        response = Client().post("/accounts/login/", {"username": "x" * 5000, "password": "y"})
    assert_sound(response, "sign-in with a 5,000-character username")
    assert not [w for w in caught if issubclass(w.category, CacheKeyWarning)], caught[0].message
