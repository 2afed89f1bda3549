from django.apps import AppConfig


class DesignDocsConfig(AppConfig):
    name = "apps.designdocs"
    label = "designdocs"
    verbose_name = "Design docs"

    def ready(self):
        from apps.core import content
        from apps.designdocs.content import ExampleKind, StepKind

        content.register(StepKind())
        content.register(ExampleKind())
