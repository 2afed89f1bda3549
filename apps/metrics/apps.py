from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "apps.metrics"
    verbose_name = "Metrics"

    def ready(self):
        from apps.core import content, markdown
        from apps.metrics.content import MetricKind
        from apps.metrics.models import Metric

        markdown.register_link_kind("metric", Metric.resolve_links)
        markdown.register_glossary(Metric.glossary)
        content.register(MetricKind())
