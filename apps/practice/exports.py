"""A deck as an Anki package (through ``genanki``) or as CSV."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import genanki

from apps.practice.models import Card, Deck


def _stable_id(name: str) -> int:
    """Anki wants numeric ids; the same name gives the same id, so a re-import updates."""
    return (1 << 30) + int(hashlib.sha256(name.encode()).hexdigest()[:7], 16)


NOTE_MODEL = genanki.Model(
    _stable_id("mlsd-handbook-card"),
    "MLSD Handbook card",
    fields=[{"name": "Front"}, {"name": "Back"}],
    templates=[
        {
            "name": "Card",
            "qfmt": "{{Front}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Back}}',
        }
    ],
    css=".card { font-family: system-ui, sans-serif; font-size: 18px; text-align: left; }",
)


def _absolute(html: str, base_url: str) -> str:
    """Links inside the cards point at the site, not at the Anki collection."""
    return html.replace('href="/', f'href="{base_url}/')


def apkg(deck: Deck, cards: Iterable[Card], base_url: str) -> bytes:
    """The deck as an .apkg file. Each note's guid comes from its card's key, so importing a
    newer export updates the notes instead of duplicating them."""
    anki_deck = genanki.Deck(_stable_id(deck.slug), f"MLSD Handbook::{deck.name}")
    for card in cards:
        anki_deck.add_note(
            genanki.Note(
                model=NOTE_MODEL,
                fields=[_absolute(card.front_html, base_url), _absolute(card.back_html, base_url)],
                guid=genanki.guid_for(card.key),
                tags=[card.kind],
            )
        )
    package = genanki.Package(anki_deck)
    # Package.write_to_file leaves its temporary database behind; this is the same steps with
    # a folder that is removed afterwards.
    timestamp = time.time()
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "collection.anki2"
        connection = sqlite3.connect(path)
        try:
            ids = itertools.count(int(timestamp * 1000))
            package.write_to_db(connection.cursor(), timestamp, ids)
            connection.commit()
        finally:
            connection.close()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.write(path, "collection.anki2")
            archive.writestr("media", json.dumps({}))
    return buffer.getvalue()


CSV_HEADER = ["front", "back", "deck", "kind", "key", "url"]


def csv_text(deck: Deck, cards: Iterable[Card], base_url: str) -> str:
    """The deck as CSV: the cards' Markdown (maths as $…$), one row each, with a header."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for card in cards:
        writer.writerow([card.front, card.back, deck.name, card.kind, card.key,
                         base_url + card.source_url])  # fmt: skip
    return out.getvalue()
