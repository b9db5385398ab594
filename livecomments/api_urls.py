"""The REST API (SPEC §4), its OpenAPI schema and docs page, under /api/."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from comments.api import StreamCommentsView, StreamMomentsView, StreamReplayView
from livecomments.api import TokenView
from moderation.api import (
    COMMENT_ACTIONS,
    BanDetailView,
    BanListView,
    BlockedTermCheckView,
    BlockedTermDetailView,
    BlockedTermListView,
    CommentActionView,
)
from streams.api import (
    ChatSettingsView,
    EndStreamView,
    SlowModeView,
    StreamDetailView,
    StreamListView,
)

app_name = "api"

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("streams/", StreamListView.as_view(), name="streams"),
    path("streams/<int:stream_id>/", StreamDetailView.as_view(), name="stream"),
    path("streams/<int:stream_id>/comments/", StreamCommentsView.as_view(), name="comments"),
    path("streams/<int:stream_id>/replay/", StreamReplayView.as_view(), name="replay"),
    path("streams/<int:stream_id>/moments/", StreamMomentsView.as_view(), name="moments"),
    path("streams/<int:stream_id>/end/", EndStreamView.as_view(), name="end-stream"),
    path("streams/<int:stream_id>/slow-mode/", SlowModeView.as_view(), name="slow-mode"),
    path("streams/<int:stream_id>/settings/", ChatSettingsView.as_view(), name="chat-settings"),
    *(
        path(
            f"comments/<int:comment_id>/{action}/",
            CommentActionView.as_view(action_name=action),
            name=f"comment-{action}",
        )
        for action in COMMENT_ACTIONS
    ),
    path("bans/", BanListView.as_view(), name="bans"),
    path("bans/<int:ban_id>/", BanDetailView.as_view(), name="ban"),
    path("blocked-terms/", BlockedTermListView.as_view(), name="blocked-terms"),
    path("blocked-terms/<int:term_id>/", BlockedTermDetailView.as_view(), name="blocked-term"),
    path("blocked-terms/check/", BlockedTermCheckView.as_view(), name="blocked-term-check"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
