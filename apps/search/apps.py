from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "apps.search"
    verbose_name = "Search"

    def ready(self):
        from apps.search import indexing

        indexing.connect_signals()
