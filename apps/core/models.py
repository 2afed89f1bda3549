"""What every page of written content has in common: Markdown rendered once, on save."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models
from django.db.models.signals import class_prepared, post_delete, post_save
from django.dispatch import Signal
from django.urls import reverse

from apps.core import caching, markdown

#: Every concrete model of written pages, so that a page appearing, moving or going away can
#: re-render the pages that link to it.
PAGE_MODELS: list[type[MarkdownPage]] = []

#: Sent with ``page`` after a page's HTML was rendered again without a save (no ``post_save``),
#: so that what keeps a copy of its text (the search index) can take the new text.
page_rerendered = Signal()

#: Sent with ``page`` and its ``old_slug`` and ``old_title`` after a save changed either, so
#: that what keeps them elsewhere (a metric picker's answers keep metric slugs and show their
#: names) can follow.
page_renamed = Signal()

#: Sent with ``names`` (the glossary names a page newly answers to, lowercased) and ``urls`` (its
#: address, when it was deleted, took a new title or dropped a name: links there may now say
#: the wrong thing) after a save or delete changed what the glossary links or what links to the
#: page show, so that text rendered outside the pages (writers' answers) can follow. Not sent
#: for a new slug: links to the old one redirect.
glossary_changed = Signal()

# While a bulk load runs, pages are re-rendered once at its end instead of on every save.
_bulk_loading: ContextVar[bool] = ContextVar("bulk_loading", default=False)


@contextmanager
def bulk_loading():
    """Many pages saved or deleted at once: each leaves the pages that link to it as they are,
    for the caller to render all of them at its end (as ``content.load`` does)."""
    token = _bulk_loading.set(True)
    try:
        yield
    finally:
        _bulk_loading.reset(token)


class MarkdownPage(models.Model):
    """A page whose Markdown ``body`` is rendered into ``body_html`` and ``toc_html`` on save.

    Subclasses set ``link_prefix`` (how other pages link to them: ``""`` for ``[[slug]]``,
    ``"metric"`` for ``[[metric:slug]]``) and may override :meth:`after_render` to store what the
    rendering found (for example outgoing links for backlinks).
    """

    link_prefix: str = ""
    #: What backlinks call this kind of page ("concept", "metric", "step").
    page_kind: str = "page"
    #: The field holding the page's name ("title" or "name").
    title_field: str = "title"
    #: The URL name of a page, reversed with its slug.
    url_name: str = ""
    #: The columns render() fills, written again by rerender().
    rendered_fields: tuple[str, ...] = ("body_html", "toc_html", "broken_links")

    slug = models.SlugField(max_length=80, unique=True)
    summary = models.CharField(max_length=300, help_text="One sentence, shown in lists and search.")
    body = models.TextField(help_text="Markdown. [[slug]] links to a concept, $…$ is maths.")
    body_html = models.TextField(editable=False, default="")
    toc_html = models.TextField(editable=False, default="")
    broken_links = models.JSONField(editable=False, default=list)
    references = models.JSONField(
        default=list, blank=True, help_text="Primary sources: one per line, “Title | URL”."
    )
    aliases = models.JSONField(
        default=list, blank=True, help_text="Other names readers search for, one per line."
    )
    # Fingerprint of the content as last loaded from or dumped to fixtures/; when the current
    # content no longer matches it, somebody edited the page in the admin.
    loaded_hash = models.CharField(max_length=64, editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        before = None
        if self.pk:
            before = (
                type(self).objects.filter(pk=self.pk)
                .values_list("slug", self.title_field, "aliases").first()
            )  # fmt: skip
        rendered = self.render()
        super().save(*args, **kwargs)
        self.after_render(rendered)
        self.record_links()
        caching.bump_content_version()
        if before is None or before[0] != self.slug:
            MovedPage.record(self, before[0] if before else None)
        if before is not None and before[:2] != (self.slug, getattr(self, self.title_field)):
            page_renamed.send(type(self), page=self, old_slug=before[0], old_title=before[1])
        if not _bulk_loading.get():
            rerender_pages_affected(self, before)

    @property
    def names(self) -> list[str]:
        """What other pages may call it: its title and aliases (glossary terms)."""
        return [getattr(self, self.title_field), *self.aliases]

    @classmethod
    def link_text_for(cls, slug: str) -> str:
        """How a body starts a link to this kind's page at ``slug`` (``[[kafka``)."""
        return f"[[{cls.link_prefix}:{slug}" if cls.link_prefix else f"[[{slug}"

    def render(self) -> markdown.Rendered:
        # During a bulk load the glossary is incomplete; the load renders every page again at
        # its end, with the glossary, so skip that work here.
        rendered = markdown.render(
            self.body, self_url=self.get_absolute_url(), glossary=not _bulk_loading.get()
        )
        self.body_html = rendered.html
        self.toc_html = rendered.toc_html
        self.broken_links = rendered.broken_links
        return rendered

    def after_render(self, rendered: markdown.Rendered) -> None:
        """Hook for subclasses: store what the rendering found. Runs after the row is saved."""

    @property
    def link_title(self) -> str:
        return str(self)

    def link_targets(self) -> set[markdown.Link]:
        """The pages this one points to: its ``[[links]]`` (subclasses add declared relations)."""
        return markdown.find_links(self.body)

    def record_links(self) -> None:
        """Rewrite this page's rows in the backlink table."""
        PageLink.objects.filter(source_kind=self.page_kind, source_id=self.pk).delete()
        own = markdown.Link(self.link_prefix, self.slug)
        PageLink.objects.bulk_create(
            PageLink(
                source_kind=self.page_kind, source_id=self.pk, source_title=self.link_title,
                source_url=self.get_absolute_url(), target_kind=link.kind, target_slug=link.slug,
            )
            for link in self.link_targets()
            if link != own
        )  # fmt: skip

    @classmethod
    def url_for(cls, slug: str) -> str:
        return reverse(cls.url_name, args=[slug])

    @classmethod
    def resolve_links(cls, slugs: set[str]) -> dict[str, tuple[str, str]]:
        """``{slug: (url, title)}`` for the slugs that exist: a link kind's resolver."""
        pages = cls.objects.filter(slug__in=slugs).values_list("slug", cls.title_field)
        return {slug: (cls.url_for(slug), title) for slug, title in pages}

    @classmethod
    def glossary(cls) -> list[tuple[str, str]]:
        """Titles and aliases with the URL of their page, or section for ``alias#anchor``."""
        terms = []
        for slug, title, aliases in cls.objects.values_list("slug", cls.title_field, "aliases"):
            url = cls.url_for(slug)
            terms.append((title, url))
            for alias in aliases:
                term, _, anchor = alias.partition("#")
                terms.append((term, f"{url}#{anchor}" if anchor else url))
        return terms

    def backlinks(self):
        """Rows of the pages that link to this one, in title order."""
        return PageLink.objects.filter(
            target_kind=self.link_prefix, target_slug=self.slug
        ).order_by("source_kind", "source_title")

    def backlink_groups(self) -> dict[str, list[PageLink]]:
        """``{"backlinks": pages that refer here, "steps": template steps it helps with}``,
        from one query, as the detail templates show them."""
        links = list(self.backlinks())
        return {
            "backlinks": [link for link in links if link.source_kind != "step"],
            "steps": [link for link in links if link.source_kind == "step"],
        }

    def rerender(self) -> None:
        """Render again (a linked page appeared or went away) without touching ``updated_at``."""
        rendered = self.render()
        type(self).objects.filter(pk=self.pk).update(
            **{name: getattr(self, name) for name in self.rendered_fields}
        )
        self.after_render(rendered)
        self.record_links()
        caching.bump_content_version()
        page_rerendered.send(sender=type(self), page=self)


class PageLink(models.Model):
    """One page pointing at another, kept so that a page can list what refers to it.

    The source's title and URL are copied in, so a page's backlinks are one query.
    """

    source_kind = models.CharField(max_length=20)
    source_id = models.PositiveBigIntegerField()
    source_title = models.CharField(max_length=300)
    source_url = models.CharField(max_length=300)
    target_kind = models.CharField(max_length=20, blank=True)
    target_slug = models.CharField(max_length=80)

    class Meta:
        indexes = [
            models.Index(fields=["target_kind", "target_slug"]),
            models.Index(fields=["source_kind", "source_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.source_title} → {self.target_kind}:{self.target_slug}"


class MovedPage(models.Model):
    """A page's address before its slug changed: links to it written before (in design docs,
    flashcards, bookmarks) still arrive, by a redirect from the 404 handler
    (apps.core.views.page_not_found)."""

    kind = models.CharField(max_length=20)  # the model's page_kind
    slug = models.SlugField(max_length=80)
    page_id = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "slug"], name="core_movedpage_kind_slug")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.slug} → {self.page_id}"

    @classmethod
    def record(cls, page: MarkdownPage, old_slug: str | None) -> None:
        """``page`` now answers at its slug (no redirect from there) and, renamed, at the old."""
        cls.objects.filter(kind=page.page_kind, slug=page.slug).delete()
        if old_slug:
            cls.objects.update_or_create(
                kind=page.page_kind, slug=old_slug, defaults={"page_id": page.pk}
            )

    @classmethod
    def url_for(cls, model: type[MarkdownPage], slug: str) -> str | None:
        """Where ``model``'s page once at ``slug`` is now, or None."""
        moved = cls.objects.filter(kind=model.page_kind, slug=slug)
        page = model.objects.filter(pk__in=moved.values("page_id")).only("slug").first()
        return page.get_absolute_url() if page else None


def rerender_pages_affected(
    page: MarkdownPage, before: tuple | None = None, *, deleted: bool = False
) -> int:
    """Re-render the pages whose HTML shows ``page``: they link to it, by ``[[link]]``, by a
    glossary link to its URL or by a declared relation (a step's concepts), or might now link
    to it. ``before`` is its slug, title and aliases before a change; None for a new page, and
    for a ``deleted`` one. Unchanged names and slug re-render nothing."""
    slug, title, aliases = before or (None, None, [])
    names = {name.partition("#")[0].strip().lower() for name in page.names}
    old_names = {name.partition("#")[0].strip().lower() for name in [title, *aliases] if name}
    new_names = names - old_names
    unchanged = slug == page.slug and names == old_names and title == page.names[0]
    if before is not None and unchanged:
        return 0
    caching.bump_content_version()  # the glossary those pages are rendered with is read anew
    pages, kind = set(), type(page)
    for old in {slug, page.slug} - {None}:
        pages |= set(_pages(body__contains=kind.link_text_for(old)))
        pages |= set(_pages(body_html__contains=f'href="{kind.url_for(old)}'))
        sources = PageLink.objects.filter(target_kind=page.link_prefix, target_slug=old)
        pages |= set(_sources(sources.values_list("source_kind", "source_id")))
    for name in () if deleted else new_names:
        pages |= set(_pages(body__icontains=name))
    pages.discard(page)
    if deleted or slug in (None, page.slug):  # a new slug: what linked the old one redirects
        # Links to the page show its title (``[[slug]]``) or one of its names: a new title,
        # a dropped name or the page gone changes what they should say.
        retitled = title is not None and title != page.names[0]
        urls = [kind.url_for(page.slug)] if deleted or retitled or old_names - names else []
        glossary_changed.send(kind, names=sorted(set() if deleted else new_names), urls=urls)
    return _rerender(pages)


def _pages(**lookup) -> list[MarkdownPage]:
    return [page for model in PAGE_MODELS for page in model.objects.filter(**lookup)]


def _sources(rows) -> list[MarkdownPage]:
    by_kind: dict[str, set[int]] = {}
    for kind, pk in rows:
        by_kind.setdefault(kind, set()).add(pk)
    models_by_kind = {model.page_kind: model for model in PAGE_MODELS}
    return [
        page
        for kind, pks in by_kind.items()
        if kind in models_by_kind
        for page in models_by_kind[kind].objects.filter(pk__in=pks)
    ]


def _rerender(pages) -> int:
    count = 0
    for page in sorted(pages, key=lambda page: (page.page_kind, page.pk)):
        page.rerender()
        count += 1
    return count


def _register_page_model(sender, **kwargs) -> None:
    if issubclass(sender, MarkdownPage) and not sender._meta.abstract:
        PAGE_MODELS.append(sender)
        post_delete.connect(_page_deleted, sender=sender, weak=False)


class_prepared.connect(_register_page_model)


def _page_deleted(sender, instance: MarkdownPage, **kwargs) -> None:
    PageLink.objects.filter(source_kind=instance.page_kind, source_id=instance.pk).delete()
    MovedPage.objects.filter(kind=instance.page_kind, page_id=instance.pk).delete()
    caching.bump_content_version()  # first: the pages below are rendered without it
    if not _bulk_loading.get():
        rerender_pages_affected(instance, deleted=True)


def shown_on_pages[M: type[models.Model]](model: M) -> M:
    """Class decorator for content other pages show (a level's name, a family's order): a row
    saved or deleted makes every rendered page stale."""
    post_save.connect(_shown_content_changed, sender=model, weak=False)
    post_delete.connect(_shown_content_changed, sender=model, weak=False)
    return model


def _shown_content_changed(sender, **kwargs) -> None:
    caching.bump_content_version()


def fingerprint(data: dict) -> str:
    """A stable hash of a page's content, as exchanged with the fixture files."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Stamp(models.Model):
    """A value the site keeps from one deploy to the next, by name: ``renderer``, the
    :func:`apps.core.markdown.fingerprint` that rendered the stored HTML."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"

    @classmethod
    def read(cls, name: str) -> str:
        return cls.objects.filter(name=name).values_list("value", flat=True).first() or ""

    @classmethod
    def write(cls, name: str, value: str) -> None:
        cls.objects.update_or_create(name=name, defaults={"value": value})
