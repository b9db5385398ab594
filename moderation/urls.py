from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("<int:stream_id>/", views.console, name="console"),
    path("<int:stream_id>/users/<int:user_id>/", views.user_card, name="user_card"),
    path("<int:stream_id>/users/<int:user_id>/note/", views.user_note, name="user_note"),
]
