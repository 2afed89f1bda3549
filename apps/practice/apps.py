from django.apps import AppConfig


class PracticeConfig(AppConfig):
    name = "apps.practice"
    verbose_name = "Practice"

    def ready(self):
        from apps.core import content, markdown
        from apps.practice import cards
        from apps.practice.content import ProblemKind
        from apps.practice.models import Problem

        markdown.register_link_kind("problem", Problem.resolve_links)
        content.register(ProblemKind())
        cards.connect_signals()
        # The header's badge and the interview clock are holes in stored pages: their fills must
        # be known before any template is rendered in this process.
        import apps.practice.templatetags.practice  # noqa: F401
