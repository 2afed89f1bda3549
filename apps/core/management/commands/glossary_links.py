"""Compare (or rewrite) fixtures/glossary_links.yaml with the glossary links pages hold now."""

from django.core.management.base import BaseCommand, CommandError

from apps.core import glossary


class Command(BaseCommand):
    help = "Check the reviewed list of glossary links against the pages, or --write it anew."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help="Rewrite the reviewed list.")

    def handle(self, *args, write=False, **options):
        if write:
            count = glossary.write_reviewed_links()
            self.stdout.write(f"Wrote {count} glossary links to {glossary.LINKS_FILE}.")
            return
        current, reviewed = glossary.all_links(), glossary.reviewed_links()
        changes = []
        for page in sorted(set(current) | set(reviewed)):
            now, before = current.get(page, {}), reviewed.get(page, {})
            for text in sorted(set(now) | set(before)):
                if now.get(text) != before.get(text):
                    changes.append(f"{page}: {text!r} {before.get(text)} → {now.get(text)}")
        if changes:
            raise CommandError("Glossary links changed since review:\n" + "\n".join(changes))
        self.stdout.write("Every glossary link is in the reviewed list.")
