from django.urls import path

from apps.designdocs import diagram_views, history, sharing, views, wizard

app_name = "designdocs"

# Django tries these in order, and no two can match the same path: the ones asked most often
# (the wizard's steps, its autosaves: several a minute per writer) come first.
urlpatterns = [
    path("<int:pk>/steps/<slug:slug>/", wizard.step_page, name="step"),
    path("<int:pk>/answers/<slug:key>/", wizard.autosave, name="autosave"),
    path("", views.doc_list, name="list"),
    path("new/", views.doc_new, name="new"),
    path("trash/", views.trash, name="trash"),
    path("export.zip", views.export_all, name="export_all"),
    path("template/<slug:slug>/", views.template_step, name="template_step"),
    path("examples/", views.example_list, name="examples"),
    path("examples/<slug:slug>/", views.example_detail, name="example"),
    path("examples/<slug:slug>/copy/", views.example_copy, name="example_copy"),
    path("<int:pk>/", views.doc_detail, name="detail"),
    path("<int:pk>/export.md", views.doc_export, name="export"),
    path("<int:pk>/rename/", views.doc_rename, name="rename"),
    path("<int:pk>/duplicate/", views.doc_duplicate, name="duplicate"),
    path("<int:pk>/delete/", views.doc_delete, name="delete"),
    path("<int:pk>/restore/", views.doc_restore, name="restore"),
    path("<int:pk>/delete-forever/", views.doc_delete_forever, name="delete_forever"),
    path("<int:pk>/share/", sharing.share, name="share"),
    path("<int:pk>/share/links/", sharing.link_add, name="link_add"),
    path("<int:pk>/share/links/<int:link_id>/revoke/", sharing.link_revoke, name="link_revoke"),
    path("<int:pk>/share/reviewers/", sharing.reviewer_add, name="reviewer_add"),
    path(
        "<int:pk>/share/reviewers/<int:reviewer_id>/remove/",
        sharing.reviewer_remove,
        name="reviewer_remove",
    ),
    path("<int:pk>/history/", history.history, name="history"),
    path("<int:pk>/history/<int:revision_id>/restore/", history.restore, name="revision_restore"),
    path("<int:pk>/history/answers/<slug:key>/", history.answer_timeline, name="answer_timeline"),
    path("<int:pk>/pickers/<slug:key>/", wizard.picker_fragment, name="picker"),
    path("<int:pk>/diagrams/new/", diagram_views.diagram_add, name="diagram_add"),
    path("<int:pk>/diagrams/<int:diagram_id>/", diagram_views.diagram_edit, name="diagram"),
    path(
        "<int:pk>/diagrams/<int:diagram_id>/save/",
        diagram_views.diagram_autosave,
        name="diagram_autosave",
    ),
    path(
        "<int:pk>/diagrams/<int:diagram_id>/preview/",
        diagram_views.diagram_preview,
        name="diagram_preview",
    ),
    path(
        "<int:pk>/diagrams/<int:diagram_id>/rename/",
        diagram_views.diagram_rename,
        name="diagram_rename",
    ),
    path(
        "<int:pk>/diagrams/<int:diagram_id>/delete/",
        diagram_views.diagram_delete,
        name="diagram_delete",
    ),
]
