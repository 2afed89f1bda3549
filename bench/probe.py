"""Work done inside Django on the benchmark database: ``python -m bench.probe <task>``.

``python -m bench`` runs it with the site's production environment; it prints one line,
``PROBE_RESULT {json}``. Tasks:

``small``  query counts per page on the loaded content (a reader with three docs);
``index``  the search index at scale, built in bulk and checked (see ``search_index.py``);
``scale``  query counts at scale, the signed-in users the load runs as, and the static file of
           the same size as the concept page (the in-server ceiling), written to STATIC_ROOT.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

from bench import pages
from bench.database import HOST

CEILING = "mlsd-bench/ceiling.html"
READER = "bench-reader"
WRITER = "bench-autosave-{:02d}"
FIRST_DRAFT = "A first draft of the goal."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probe")
    parser.add_argument("task", choices=["small", "index", "scale"])
    parser.add_argument("--writers", type=int, default=16)
    args = parser.parse_args(argv)

    import django  # only now: the settings read the environment the caller set

    django.setup()
    if args.task == "small":
        result = {"queries": count_queries(small_reader())}
    elif args.task == "index":
        from bench import search_index

        result = search_index.build()
    else:
        result = scale(args.writers)
    print("PROBE_RESULT " + json.dumps(result))
    return 0


def client():
    from django.test import Client

    return Client(HTTP_HOST=HOST)


def small_reader():
    """A signed-in reader with three docs, answered a little, through the site's own code."""
    from django.contrib.auth import get_user_model

    from apps.designdocs.models import DesignDoc, Prompt

    user = get_user_model().objects.create(username=READER, email=f"{READER}@example.com")
    user.set_unusable_password()
    user.save()
    prompt = Prompt.objects.get(key=pages.PROMPT)
    for n in range(3):
        doc = DesignDoc.objects.create(owner=user, title=f"Reader's doc {n + 1}")
        doc.save_answer(prompt, pages.AUTOSAVE_TEXTS[0], 0)
        doc.record_revision("Created")
    return user


def count_queries(user) -> dict[str, dict]:
    """Queries per page: ``cold`` with nothing cached, ``warm`` when asked again at once."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    doc = user.design_docs.filter(deleted_at__isnull=True).order_by("pk").first()
    visits = [(label, path, None) for label, path in pages.ANONYMOUS.items()]
    visits += [(label, path, user) for label, path in pages.signed_in(doc.pk).items()]
    counts = {}
    for label, path, visitor in visits:
        browser = client()
        if visitor:
            browser.force_login(visitor)
        browser.get(path)  # once first, so one-off work of a new process is not counted
        cache.clear()
        with CaptureQueriesContext(connection) as cold:
            tick = time.perf_counter()
            response = browser.get(path)
            spent = time.perf_counter() - tick
        with CaptureQueriesContext(connection) as warm:
            browser.get(path)
        counts[label] = {
            "cold": len(cold),
            "warm": len(warm),
            "ms": _sql_ms(cold),
            "request_ms": spent * 1000,
            "status": response.status_code,
            "bytes": len(response.content),
        }
    counts["autosave (signed in)"] = _count_autosave(user, doc)
    return counts


def _count_autosave(user, doc) -> dict:
    """An autosave that changes the answer, after one that warms the process up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.designdocs.models import Answer

    browser = client()
    browser.force_login(user)

    def save():
        answer = Answer.objects.filter(doc=doc, prompt__key=pages.PROMPT).first()
        first, second = pages.AUTOSAVE_TEXTS
        text = second if answer and answer.value == first else first
        data = {pages.PROMPT: text, f"version_{pages.PROMPT}": answer.version if answer else 0}
        return browser.post(pages.autosave(doc.pk), data, headers={"HX-Request": "true"})

    save()
    with CaptureQueriesContext(connection) as queries:
        tick = time.perf_counter()
        response = save()
        spent = time.perf_counter() - tick
    return {
        "cold": len(queries),
        "warm": None,
        "ms": _sql_ms(queries),
        "request_ms": spent * 1000,
        "status": response.status_code,
        "bytes": 0,
    }


def _sql_ms(queries) -> float:
    """Time the queries took, as the database connection measured it."""
    return sum(float(query["time"]) for query in queries.captured_queries) * 1000


def scale(writers: int) -> dict:
    from django.contrib.auth import get_user_model

    from apps.concepts.models import Concept
    from apps.designdocs.management.commands.generate_docs import USERNAME_PREFIX
    from apps.designdocs.models import Answer, DesignDoc
    from apps.search.models import Entry

    users = get_user_model().objects
    reader = users.filter(username__startswith=f"{USERNAME_PREFIX}-").order_by("pk").first()
    reader = reader or users.get(username=READER)
    queries = count_queries(reader)
    reader_docs = reader.design_docs.filter(deleted_at__isnull=True)
    kafka = Concept.objects.get(slug=pages.CONCEPT)
    result = {
        "queries": queries,
        "reader": {
            **session_of(reader),
            "doc": reader_docs.order_by("pk").first().pk,
            "username": reader.username,
        },
        "writers": [make_writer(n + 1) for n in range(writers)],
        "counts": {
            "concepts": Concept.objects.count(),
            "users": users.count(),
            "docs": DesignDoc.objects.count(),
            "answers": Answer.objects.count(),
            "search entries": Entry.objects.count(),
            f"backlinks of {pages.CONCEPT}": kafka.backlinks().count(),
            "docs of the signed-in reader": reader_docs.count(),
        },
    }
    result["ceiling"] = write_ceiling()  # last: nothing left behind if anything above fails
    return result


def session_of(user) -> dict:
    """Cookies and CSRF token of a fresh signed-in session, as a browser would hold them."""
    browser = client()
    browser.force_login(user)
    page = browser.get("/docs/").content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    if token is None:
        raise SystemExit("probe: no CSRF token in hx-headers on /docs/ (base.html changed?)")
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in browser.cookies.items())
    return {"cookie": cookie, "csrf": token.group(1)}


def make_writer(n: int) -> dict:
    """A user with one doc whose Markdown answer the autosave load keeps changing."""
    from django.contrib.auth import get_user_model

    from apps.designdocs.models import DesignDoc, Prompt

    name = WRITER.format(n)
    user, created = get_user_model().objects.get_or_create(
        username=name, defaults={"email": f"{name}@example.com"}
    )
    if created:
        user.set_unusable_password()
        user.save()
    doc = DesignDoc.objects.create(owner=user, title="Video recommendations: autosave load")
    saved = doc.save_answer(Prompt.objects.get(key=pages.PROMPT), FIRST_DRAFT, 0)
    return {**session_of(user), "doc": doc.pk, "version": saved.answer.version}


def write_ceiling() -> dict:
    """Save the concept page's HTML as a static file: same bytes, served by whitenoise."""
    from pathlib import Path

    from django.conf import settings

    html = client().get(f"/concepts/{pages.CONCEPT}/").content
    path = Path(settings.STATIC_ROOT) / CEILING
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(html)
    return {"path": str(path), "url": settings.STATIC_URL + CEILING, "bytes": len(html)}


if __name__ == "__main__":
    sys.exit(main())
