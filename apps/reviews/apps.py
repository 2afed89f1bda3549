from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "apps.reviews"
    label = "reviews"
    verbose_name = "Reviews"

    def ready(self):
        # Design docs sit below reviews and never import it: their page and export ask these
        # hooks for the comments (see apps.designdocs.addons).
        from apps.designdocs import addons
        from apps.reviews import threads
        from apps.reviews.models import connect_signals

        addons.add_page_hook(threads.page_context)
        addons.add_export_part(
            addons.ExportPart("comments", "with open comments", threads.export_lines)
        )
        connect_signals()
        # The inbox link is a hole in stored pages: its fill must be known before any template
        # is rendered in this process.
        import apps.reviews.templatetags.reviews  # noqa: F401
