from django.apps import AppConfig


class ConceptsConfig(AppConfig):
    name = "apps.concepts"
    verbose_name = "Concepts"

    def ready(self):
        from apps.concepts.content import ConceptKind
        from apps.concepts.models import Concept
        from apps.core import content, markdown

        markdown.register_link_kind("", Concept.resolve_links)
        markdown.register_glossary(Concept.glossary)
        content.register(ConceptKind())
