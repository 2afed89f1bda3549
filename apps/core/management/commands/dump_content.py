from django.core.management.base import BaseCommand

from apps.core import content


class Command(BaseCommand):
    help = "Write the knowledge base from the database back to fixtures/, one file per page."

    def handle(self, *args, **options):
        written = content.dump()
        self.stdout.write(f"wrote {len(written)} files under {content.FIXTURES_DIR}")
