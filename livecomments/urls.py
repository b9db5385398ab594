from django.contrib import admin
from django.urls import include, path

from . import health, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("livecomments.api_urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("accounts/", include("livecomments.accounts")),
    path("moderate/", include("moderation.urls")),
    path("", include("streams.urls")),
]
