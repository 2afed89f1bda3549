from django.urls import path

from apps.concepts import views

app_name = "concepts"

urlpatterns = [
    path("", views.concept_list, name="list"),
    path("<slug:slug>/", views.concept_detail, name="detail"),
]
