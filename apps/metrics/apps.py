from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "apps.metrics"
    verbose_name = "Metrics"

    def ready(self):
        from apps.core import content, markdown
        from apps.metrics.content import MetricKind
        from apps.metrics.models import metric_glossary, resolve_metric_links

        markdown.register_link_kind("metric", resolve_metric_links)
        markdown.register_glossary(metric_glossary)
        content.register(MetricKind())
