"""Comments in the moderation console: pin, highlight, hide, in bulk or one by one.

Every change goes through moderation.services, so viewers see it at once and it is
logged; nothing here saves a Comment directly. The list is built for tables of millions
of rows: newest first on the primary key, no unbounded count, authors and streams
loaded in the same query.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import ngettext

from livecomments.replica import LaggingChangeList
from moderation import services
from moderation.console import (
    SOURCE,
    CappedCountPaginator,
    ReasonActionForm,
    action_reason,
    may_moderate,
    too_many_for_bulk,
)
from streams.models import Stream

from .models import Comment

STREAM_CHOICES = 30
PREVIEW_CHARS = 160
STREAM_TITLE_CHARS = 20


class StreamFilter(admin.SimpleListFilter):
    title = "stream"
    parameter_name = "stream"

    def lookups(self, request, model_admin):
        streams = list(
            Stream.objects.order_by("-status", "-created_at").values_list("id", "title")[
                :STREAM_CHOICES
            ]
        )
        chosen = self.value()
        if chosen and chosen.isdigit() and all(str(i) != chosen for i, _ in streams):
            streams += list(Stream.objects.filter(id=int(chosen)).values_list("id", "title"))
        return [(str(i), title) for i, title in streams]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(stream_id=int(value))
        return queryset


class AuthorFilter(admin.SimpleListFilter):
    """Set by clicking an author in the list: a sidebar of every user would not scale."""

    title = "author"
    parameter_name = "author"

    def lookups(self, request, model_admin):
        from django.contrib.auth import get_user_model

        value = self.value()
        if not (value and value.isdigit()):
            return []
        users = get_user_model().objects.filter(id=int(value)).values_list("id", "username")
        return [(str(i), name) for i, name in users]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(author_id=int(value))
        return queryset


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("visible", "Visible"),
            ("hidden", "Hidden"),
            ("pinned", "Pinned"),
            ("highlighted", "Highlighted"),
        ]

    def queryset(self, request, queryset):
        return {
            "visible": queryset.filter(is_hidden=False),
            "hidden": queryset.filter(is_hidden=True),
            "pinned": queryset.filter(is_pinned=True),
            "highlighted": queryset.filter(is_highlighted=True),
        }.get(self.value() or "", queryset)


class CommentModerationForm(forms.ModelForm):
    reason = forms.CharField(
        required=False, max_length=500, help_text="Why, for the moderation log."
    )

    class Meta:
        model = Comment
        fields = ["is_pinned", "is_highlighted", "is_hidden"]


# (form field, service when set, service when cleared)
FLAG_SERVICES = [
    ("is_pinned", services.pin_comment, services.unpin_comment),
    ("is_highlighted", services.highlight_comment, services.unhighlight_comment),
    ("is_hidden", services.hide_comment, services.unhide_comment),
]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    # Sized for a 1280 px screen with the admin's sidebars open: short time, one state
    # column, and the text taking what is left, one line per comment.
    list_display = ["when", "state", "author_link", "content_preview", "stream_link"]
    list_display_links = ["when"]
    list_filter = [StreamFilter, StateFilter, AuthorFilter]
    list_select_related = ["author", "stream"]
    search_fields = ["content", "=author__username"]
    search_help_text = "Words in the comment, or an exact username."
    ordering = ["-id"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice would scan millions
    paginator = CappedCountPaginator
    list_per_page = 50
    action_form = ReasonActionForm
    actions = [
        "pin",
        "unpin",
        "highlight",
        "unhighlight",
        "hide",
        "unhide",
        "ban_authors_from_stream",
        "time_out_authors",
    ]
    form = CommentModerationForm

    class Media:
        css = {"all": ["livecomments/admin.css"]}

    readonly_fields = [
        "id",
        "stream",
        "author",
        "content",
        "parent_id",
        "created_at",
        "received_at",
    ]
    fieldsets = [
        (None, {"fields": ["id", "stream", "author", "content", "parent_id", "created_at"]}),
        ("Moderation", {"fields": ["is_pinned", "is_highlighted", "is_hidden", "reason"]}),
    ]

    def get_changelist(self, request, **kwargs):
        return LaggingChangeList

    # --- columns ---------------------------------------------------------------------

    @admin.display(description="when", ordering="id")
    def when(self, comment):
        moment = timezone.localtime(comment.created_at)
        today = moment.date() == timezone.localdate()
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            moment.isoformat(),
            date_format(moment, "DATETIME_FORMAT"),
            date_format(moment, "H:i:s" if today else "j M H:i"),
        )

    @admin.display(description="state", empty_value="")
    def state(self, comment):
        flags = [
            (label, css)
            for label, css, on in [
                ("pinned", "pinned", comment.is_pinned),
                ("highlighted", "highlighted", comment.is_highlighted),
                ("hidden", "hidden", comment.is_hidden),
            ]
            if on
        ]
        return format_html_join(
            "", '<span class="lc-flag lc-flag-{}">{}</span>', ((css, label) for label, css in flags)
        )

    @admin.display(description="author", ordering="author__username")
    def author_link(self, comment):
        return format_html(
            '<a href="?author={}" title="only this author">{}</a>',
            comment.author_id,
            comment.author.username,
        )

    @admin.display(description="comment")
    def content_preview(self, comment):
        # One line per comment: the stylesheet cuts it to the column's width, the title
        # attribute holds the whole text for a hover.
        return format_html(
            '<span class="lc-text{}" title="{}">{}</span>',
            " lc-text-hidden" if comment.is_hidden else "",
            comment.content,
            Truncator(comment.content).chars(PREVIEW_CHARS),
        )

    @admin.display(description="stream")
    def stream_link(self, comment):
        return format_html(
            '<a href="?stream={}" title="only this stream: {}">{}</a>',
            comment.stream_id,
            comment.stream.title,
            Truncator(comment.stream.title).chars(STREAM_TITLE_CHARS),
        )

    # --- permissions -----------------------------------------------------------------

    def has_add_permission(self, request):
        return False  # comments are posted by viewers, through the live path

    def has_delete_permission(self, request, obj=None):
        return False  # hide instead: deleting would skip the viewers and the log

    def has_change_permission(self, request, obj=None):
        return may_moderate(request, "comments.change_comment")

    def has_moderate_permission(self, request):
        return may_moderate(request, "comments.change_comment")

    def has_ban_permission(self, request):
        return may_moderate(request, "moderation.add_ban")

    # --- one by one: the change form -------------------------------------------------

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data.get("reason", "")
        for field, when_set, when_cleared in FLAG_SERVICES:
            if field in form.changed_data:
                service = when_set if form.cleaned_data[field] else when_cleared
                service(obj.id, actor=request.user, source=SOURCE, reason=reason)

    # --- in bulk: actions ------------------------------------------------------------

    def _apply(self, request, queryset, service, done: str):
        if too_many_for_bulk(self, request, queryset):
            return
        reason = action_reason(request)
        count = 0
        for comment_id in queryset.values_list("id", flat=True):
            service(comment_id, actor=request.user, source=SOURCE, reason=reason)
            count += 1
        self.message_user(
            request,
            ngettext(f"{done} %d comment.", f"{done} %d comments.", count) % count,
            messages.SUCCESS,
        )

    @admin.action(permissions=["moderate"], description="Pin selected comments")
    def pin(self, request, queryset):
        self._apply(request, queryset, services.pin_comment, "Pinned")

    @admin.action(permissions=["moderate"], description="Unpin selected comments")
    def unpin(self, request, queryset):
        self._apply(request, queryset, services.unpin_comment, "Unpinned")

    @admin.action(permissions=["moderate"], description="Highlight selected comments")
    def highlight(self, request, queryset):
        self._apply(request, queryset, services.highlight_comment, "Highlighted")

    @admin.action(permissions=["moderate"], description="Remove highlight from selected comments")
    def unhighlight(self, request, queryset):
        self._apply(request, queryset, services.unhighlight_comment, "Unhighlighted")

    @admin.action(permissions=["moderate"], description="Hide selected comments from viewers")
    def hide(self, request, queryset):
        self._apply(request, queryset, services.hide_comment, "Hid")

    @admin.action(permissions=["moderate"], description="Show selected hidden comments again")
    def unhide(self, request, queryset):
        self._apply(request, queryset, services.unhide_comment, "Unhid")

    @admin.action(
        permissions=["ban"], description="Ban authors from the stream and remove their comments"
    )
    def ban_authors_from_stream(self, request, queryset):
        self._ban_authors(request, queryset, minutes=None)

    @admin.action(permissions=["ban"], description="Time authors out of the stream for 10 minutes")
    def time_out_authors(self, request, queryset):
        self._ban_authors(request, queryset, minutes=10)

    def _ban_authors(self, request, queryset, minutes):
        if too_many_for_bulk(self, request, queryset):
            return
        reason = action_reason(request)
        expires_at = timezone.now() + timedelta(minutes=minutes) if minutes else None
        pairs = {(c.author, c.stream) for c in queryset.select_related("author", "stream")}
        for author, stream in sorted(pairs, key=lambda pair: (pair[0].id, pair[1].id)):
            services.ban_user(
                author,
                stream=stream,
                expires_at=expires_at,
                reason=reason,
                remove_comments=minutes is None,
                actor=request.user,
                source=SOURCE,
            )
        what = f"Timed out for {minutes} minutes" if minutes else "Banned"
        self.message_user(
            request,
            f"{what}: {', '.join(sorted({a.username for a, _ in pairs})) or 'nobody'}.",
            messages.SUCCESS,
        )
