from django.urls import path

from apps.reviews import views

app_name = "reviews"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:item_id>/open/", views.inbox_open, name="open"),
    path("inbox/read/", views.inbox_read_all, name="read_all"),
    path("inbox/mail/", views.mail_settings, name="mail"),
    path("docs/<int:pk>/comments/", views.comment_add, name="add"),
    path("docs/<int:pk>/comments/<int:comment_id>/edit/", views.comment_edit, name="edit"),
    path("docs/<int:pk>/comments/<int:comment_id>/delete/", views.comment_delete, name="delete"),
    path(
        "docs/<int:pk>/comments/<int:comment_id>/resolve/",
        views.comment_resolve,
        name="resolve",
    ),
]
