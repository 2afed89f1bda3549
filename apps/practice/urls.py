from django.urls import path

from apps.practice import interviews, reviews, views

app_name = "practice"

urlpatterns = [
    path("", views.home, name="home"),
    path("problems/", views.problem_list, name="problems"),
    path("problems/<slug:slug>/", views.problem_detail, name="problem"),
    path("problems/<slug:slug>/start/", interviews.start, name="start"),
    path("attempts/", interviews.attempt_list, name="attempts"),
    path("attempts/<int:pk>/", interviews.attempt_detail, name="attempt"),
    path("attempts/<int:pk>/events/", interviews.event, name="event"),
    path("attempts/<int:pk>/pause/", interviews.pause, name="pause"),
    path("attempts/<int:pk>/resume/", interviews.resume, name="resume"),
    path("attempts/<int:pk>/finish/", interviews.finish, name="finish"),
    path("attempts/<int:pk>/ticks/", interviews.save_ticks, name="ticks"),
    path("cards/", reviews.deck_list, name="decks"),
    path("cards/review/", reviews.review, name="review"),
    path("cards/review/grade/", reviews.grade, name="grade"),
    path("cards/review/undo/", reviews.undo, name="undo"),
    path("cards/decks/<slug:slug>.apkg", reviews.export_apkg, name="export_apkg"),
    path("cards/decks/<slug:slug>.csv", reviews.export_csv, name="export_csv"),
    path("stats/", reviews.stats, name="stats"),
]
