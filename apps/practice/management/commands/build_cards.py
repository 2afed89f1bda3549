from django.core.management.base import BaseCommand

from apps.practice import cards


class Command(BaseCommand):
    help = (
        "Build the flashcards from the content (load_content and admin saves do it by "
        "themselves). Idempotent; a card whose source is gone is retired, not deleted."
    )

    def handle(self, *args, **options):
        report = cards.rebuild()
        self.stdout.write(
            f"{report.total} cards: {report.created} created, {report.updated} updated, "
            f"{report.retired} retired."
        )
