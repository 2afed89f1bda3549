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
        content.loaded.connect(_recheck_after_load, dispatch_uid="designdocs-recheck")

        from apps.core.worker import worker_starting

        worker_starting.connect(_catch_up, dispatch_uid="designdocs-catch-up")


def _catch_up(sender, **kwargs) -> int:
    from apps.designdocs.tasks import catch_up

    return catch_up()


def _recheck_after_load(sender, report, **kwargs) -> None:
    """A deploy may have corrected how answers are checked, or how Markdown is rendered: check
    them all again, and render the written ones again if so, off the request and off the deploy
    (the worker)."""
    from apps.designdocs.tasks import recheck_checked_answers, rerender_all_answers

    recheck_checked_answers.enqueue()
    if report.renderer_changed:
        rerender_all_answers.enqueue()
