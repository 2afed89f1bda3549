from django.core.management.base import BaseCommand

from apps.search.indexing import reindex_all


class Command(BaseCommand):
    help = "Rebuild the search index from every page and design doc."

    def handle(self, *args, **options):
        self.stdout.write(f"indexed {reindex_all()} entries")
