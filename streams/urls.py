from django.urls import path

from . import views

app_name = "streams"

urlpatterns = [
    path("", views.stream_list, name="list"),
    path("streams/<int:stream_id>/", views.stream_detail, name="detail"),
]
