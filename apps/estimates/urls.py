from django.urls import path

from apps.estimates import views

app_name = "estimates"

urlpatterns = [
    path("<slug:name>/", views.estimate, name="estimate"),
]
