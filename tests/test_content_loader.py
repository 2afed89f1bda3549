"""load_content / dump_content: idempotent, and an admin edit is never silently overwritten."""

from pathlib import Path

import pytest

from apps.concepts.models import Concept
from apps.core import content, markdown
from apps.core.content import ContentFileError
from apps.core.models import Stamp, bulk_loading

pytestmark = pytest.mark.django_db

PAGE = """---
title: Alpha
level: foundations
order: 10
summary: The first test page.
aliases:
- first
related: [beta]
references:
- title: RFC 9293, Transmission Control Protocol, 2022
  url: https://www.rfc-editor.org/rfc/rfc9293
---
## What it is

Alpha links to [[beta]].
"""

BETA = """---
title: Beta
level: characteristics
order: 10
summary: The second test page.
---
Beta links back to [[alpha|Alpha]].
"""


@pytest.fixture
def fixtures_root(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "concepts"
    folder.mkdir()
    (folder / "alpha.md").write_text(PAGE)
    (folder / "beta.md").write_text(BETA)
    # Only the concepts kind, so the test does not depend on other apps' fixtures.
    monkeypatch.setattr(content, "KINDS", [k for k in content.KINDS if k.directory == "concepts"])
    with bulk_loading():  # the load re-renders what is left; not each page per deletion
        Concept.objects.all().delete()
    return tmp_path


def test_first_load_creates_pages_with_links_resolved_across_files(fixtures_root):
    report = content.load(fixtures_root)
    assert sorted(report.created) == ["concepts/alpha", "concepts/beta"]
    alpha = Concept.objects.get(slug="alpha")
    assert alpha.broken_links == []
    assert list(alpha.related.values_list("slug", flat=True)) == ["beta"]
    assert alpha.aliases == ["first"]
    assert alpha.references[0]["url"] == "https://www.rfc-editor.org/rfc/rfc9293"
    assert 'href="/concepts/beta/"' in alpha.body_html


def test_second_load_changes_nothing(fixtures_root):
    content.load(fixtures_root)
    stamps = dict(Concept.objects.values_list("slug", "updated_at"))
    report = content.load(fixtures_root)
    assert report.created == [] and report.updated == []
    assert sorted(report.unchanged) == ["concepts/alpha", "concepts/beta"]
    assert dict(Concept.objects.values_list("slug", "updated_at")) == stamps


def test_a_new_renderer_renders_every_stored_page_again(fixtures_root):
    """A fix to rendering (or a library upgrade) reaches pages whose files did not change."""
    content.load(fixtures_root)
    assert Stamp.read("renderer") == markdown.fingerprint()
    right = Concept.objects.get(slug="alpha").body_html
    Concept.objects.update(body_html="<p>as an older renderer made it</p>")
    report = content.load(fixtures_root)
    assert not report.renderer_changed and report.updated == []
    assert Concept.objects.get(slug="alpha").body_html == "<p>as an older renderer made it</p>"
    Stamp.write("renderer", "an older renderer")
    report = content.load(fixtures_root)
    assert report.renderer_changed and report.updated == []
    assert Concept.objects.get(slug="alpha").body_html == right
    assert Stamp.read("renderer") == markdown.fingerprint()


def test_the_renderers_fingerprint_covers_its_code_and_libraries(monkeypatch):
    from importlib import metadata

    before = markdown.fingerprint()
    markdown.fingerprint.cache_clear()
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "99.0" if name == "nh3" else real(name))
    try:
        assert markdown.fingerprint() != before
    finally:
        markdown.fingerprint.cache_clear()


def test_changed_file_updates_an_unedited_page(fixtures_root):
    content.load(fixtures_root)
    path = fixtures_root / "concepts" / "alpha.md"
    path.write_text(path.read_text().replace("Alpha links", "Alpha now links"))
    report = content.load(fixtures_root)
    assert report.updated == ["concepts/alpha"]
    assert "Alpha now links" in Concept.objects.get(slug="alpha").body


def test_admin_edit_is_kept_unless_forced(fixtures_root):
    content.load(fixtures_root)
    alpha = Concept.objects.get(slug="alpha")
    alpha.body = "Edited in the admin."
    alpha.save()
    path = fixtures_root / "concepts" / "alpha.md"
    path.write_text(path.read_text().replace("Alpha links", "File changed too"))

    report = content.load(fixtures_root)
    assert report.kept_admin_edits == ["concepts/alpha"]
    assert Concept.objects.get(slug="alpha").body == "Edited in the admin."

    report = content.load(fixtures_root, force=True)
    assert report.updated == ["concepts/alpha"]
    assert "File changed too" in Concept.objects.get(slug="alpha").body


def test_dump_writes_admin_edits_back_and_then_loads_as_unchanged(fixtures_root):
    content.load(fixtures_root)
    alpha = Concept.objects.get(slug="alpha")
    alpha.summary = "Rewritten by an editor."
    alpha.save()
    content.dump(fixtures_root)
    assert (
        "summary: Rewritten by an editor." in (fixtures_root / "concepts" / "alpha.md").read_text()
    )
    report = content.load(fixtures_root)
    assert report.updated == [] and report.kept_admin_edits == []


def test_unknown_level_and_bad_reference_url_are_reported(fixtures_root):
    path = fixtures_root / "concepts" / "alpha.md"
    path.write_text(PAGE.replace("level: foundations", "level: nowhere"))
    with pytest.raises(ContentFileError, match="unknown level 'nowhere'"):
        content.load(fixtures_root)
    path.write_text(PAGE.replace("https://www.rfc-editor.org/rfc/rfc9293", "javascript:alert(1)"))
    with pytest.raises(ContentFileError, match="not an http"):
        content.load(fixtures_root)


def test_real_fixtures_load_idempotently():
    # The session loaded fixtures/ once already; loading again must find nothing to do.
    report = content.load()
    assert report.created == [] and report.updated == [], report
    assert report.kept_admin_edits == []


def test_load_content_says_when_a_new_renderer_rendered_every_page_again():
    import io

    from django.core.management import call_command

    Stamp.write("renderer", "an older renderer")
    out = io.StringIO()
    call_command("load_content", stdout=out)
    assert "The Markdown renderer changed: every page was rendered again." in out.getvalue()
    out = io.StringIO()
    call_command("load_content", stdout=out)
    assert "renderer changed" not in out.getvalue()
