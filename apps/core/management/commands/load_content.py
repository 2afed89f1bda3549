from django.core.management.base import BaseCommand, CommandError

from apps.core import content


class Command(BaseCommand):
    help = (
        "Load the knowledge base from fixtures/ into the database. Idempotent. A page edited in "
        "the admin since it was last loaded is kept as it is unless --force is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Overwrite pages edited in the admin."
        )

    def handle(self, *args, force: bool, verbosity: int, **options):
        try:
            report = content.load(force=force)
        except content.ContentFileError as exc:
            raise CommandError(str(exc)) from exc
        if verbosity == 0:
            return
        self.stdout.write(
            f"{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.kept_admin_edits)} kept as edited."
        )
        if report.renderer_changed and report.unchanged:  # not news on a first load
            self.stdout.write("The Markdown renderer changed: every page was rendered again.")
        for label in report.kept_admin_edits:
            self.stdout.write(
                self.style.WARNING(f"kept admin edit: {label} (use --force to overwrite)")
            )
        for label, links in report.broken_links.items():
            self.stdout.write(self.style.WARNING(f"broken links in {label}: {', '.join(links)}"))
        if verbosity > 1:
            for label in report.created + report.updated:
                self.stdout.write(f"loaded {label}")
