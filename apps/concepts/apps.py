from django.apps import AppConfig


class ConceptsConfig(AppConfig):
    name = "apps.concepts"
    verbose_name = "Concepts"

    def ready(self):
        from apps.concepts.content import ConceptKind
        from apps.concepts.models import concept_glossary, resolve_concept_links
        from apps.core import content, markdown

        markdown.register_link_kind("", resolve_concept_links)
        markdown.register_glossary(concept_glossary)
        content.register(ConceptKind())
