"""Streams in the moderation console: live viewers, comment rate, slow mode, ending a stream."""

import logging
import time

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from comments.models import Comment
from comments.snowflake import first_id_at
from moderation.console import SOURCE, ReasonActionForm, action_reason, may_moderate

from . import services
from .models import Stream
from .selectors import viewer_counts

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 60
SLOW_MODE_PRESETS = (10, 30, 60)


class LiveStatsChangeList(ChangeList):
    """Adds live viewers and comments per minute to the streams on this page: two queries."""

    def get_results(self, request):
        super().get_results(request)
        streams = list(self.result_list)
        ids = [s.id for s in streams]
        try:
            viewers = viewer_counts(ids) if ids else {}
        except Exception:
            logger.exception("reading viewer counts failed")
            viewers = {}
        # Ids are time-ordered: "created in the window" is a range on the primary key.
        window_start = first_id_at(int((time.time() - RATE_WINDOW_SECONDS) * 1000))
        rates = dict(
            Comment.objects.filter(stream_id__in=ids, is_hidden=False, id__gte=window_start)
            .values_list("stream_id")
            .annotate(count=Count("id"))
            .order_by()
        )
        for stream in streams:
            stream.live_viewers = viewers.get(stream.id)
            stream.comments_per_minute = rates.get(stream.id, 0)


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "status",
        "viewers",
        "comment_rate",
        "slow_mode",
        "host",
        "created_at",
        "console_link",
    ]
    list_filter = ["status"]
    list_select_related = ["host"]
    search_fields = ["title", "=host__username"]
    ordering = ["-status", "-created_at"]  # live first
    show_full_result_count = False
    action_form = ReasonActionForm
    actions = ["end_streams", *(f"slow_mode_{s}" for s in SLOW_MODE_PRESETS), "slow_mode_off"]
    fields = [
        "title",
        "host",
        "video_url",
        "status",
        "console_link",
        "slow_mode_seconds",
        "created_at",
        "ended_at",
    ]
    readonly_fields = ["status", "console_link", "created_at", "ended_at"]
    raw_id_fields = ["host"]

    def get_changelist(self, request, **kwargs):
        return LiveStatsChangeList

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "host"]
        return self.readonly_fields

    @admin.display(description="live viewers")
    def viewers(self, stream):
        value = getattr(stream, "live_viewers", None)
        return "—" if value is None else value

    @admin.display(description="comments / min")
    def comment_rate(self, stream):
        return getattr(stream, "comments_per_minute", "—")

    @admin.display(description="slow mode", ordering="slow_mode_seconds")
    def slow_mode(self, stream):
        return f"{stream.slow_mode_seconds} s" if stream.slow_mode_seconds else "off"

    @admin.display(description="live console")
    def console_link(self, stream):
        if stream.pk is None:
            return "—"
        url = reverse("moderation:console", args=[stream.pk])
        return format_html('<a href="{}">Moderate live ↗</a>', url)

    def has_delete_permission(self, request, obj=None):
        return False  # end a stream instead; its comments stay for the record

    def has_change_permission(self, request, obj=None):
        # The change form sets slow mode, a moderation action: the permission alone is not
        # enough outside the Moderators group.
        return may_moderate(request, "streams.change_stream")

    def has_moderate_permission(self, request):
        return may_moderate(request, "streams.change_stream")

    def save_model(self, request, obj, form, change):
        if not change:
            created = services.create_stream(
                obj.title,
                host=obj.host,
                video_url=obj.video_url,
                actor=request.user,
                source=SOURCE,
            )
            obj.pk = created.pk
            if obj.slow_mode_seconds:
                services.set_slow_mode(
                    created.id, obj.slow_mode_seconds, actor=request.user, source=SOURCE
                )
            return
        plain = [f for f in form.changed_data if f in ("title", "video_url")]
        if plain:
            services.edit_stream(obj, plain)
        if "slow_mode_seconds" in form.changed_data:
            services.set_slow_mode(obj.id, obj.slow_mode_seconds, actor=request.user, source=SOURCE)

    @admin.action(permissions=["moderate"], description="End selected streams")
    def end_streams(self, request, queryset):
        reason = action_reason(request)
        ended = 0
        for stream_id in queryset.filter(status=Stream.Status.LIVE).values_list("id", flat=True):
            services.end_stream(stream_id, actor=request.user, source=SOURCE, reason=reason)
            ended += 1
        self.message_user(
            request,
            ngettext("Ended %d stream.", "Ended %d streams.", ended) % ended,
            messages.SUCCESS if ended else messages.WARNING,
        )

    def _set_slow_mode(self, request, queryset, seconds):
        reason = action_reason(request)
        ids = list(queryset.values_list("id", flat=True))
        for stream_id in ids:
            services.set_slow_mode(
                stream_id, seconds, actor=request.user, source=SOURCE, reason=reason
            )
        what = f"one comment per user every {seconds} s" if seconds else "off"
        self.message_user(request, f"Slow mode {what} on {len(ids)} stream(s).", messages.SUCCESS)

    @admin.action(permissions=["moderate"], description="Slow mode off")
    def slow_mode_off(self, request, queryset):
        self._set_slow_mode(request, queryset, 0)


def _slow_mode_action(seconds):
    @admin.action(permissions=["moderate"], description=f"Slow mode: one comment per {seconds} s")
    def action(self, request, queryset):
        self._set_slow_mode(request, queryset, seconds)

    action.__name__ = f"slow_mode_{seconds}"
    return action


for _seconds in SLOW_MODE_PRESETS:
    setattr(StreamAdmin, f"slow_mode_{_seconds}", _slow_mode_action(_seconds))
