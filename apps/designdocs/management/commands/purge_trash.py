from django.core.management.base import BaseCommand

from apps.designdocs.models import DesignDoc


class Command(BaseCommand):
    help = "Delete for good the design docs that have been in the trash for more than 30 days."

    def handle(self, *args, **options):
        count, _ = DesignDoc.objects.expired().delete()
        self.stdout.write(f"purged {count} rows")
