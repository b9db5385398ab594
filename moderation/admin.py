"""Bans, blocked terms and the read-only moderation log in the moderation console.

Adding or lifting a ban, and adding, changing or removing a blocked term, go through
moderation.services, so they are logged and take effect on every gateway at once.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from comments.models import Comment
from livecomments.replica import LaggingChangeList, lagging_reads

from . import selectors, services
from .console import SOURCE, CappedCountPaginator, may_moderate
from .forms import BanForm, BlockedTermForm
from .models import Ban, BlockedTerm, ModerationAction
from .terms import Term

LOG_TEXT_CHARS = 80

admin.site.site_header = "Live comments moderation"
admin.site.site_title = "Live comments moderation"
admin.site.index_title = "Moderation console"
# The lists need the width (a quarter of a 1280 px screen went to the sidebar); the
# console's five lists are one click away on its home page and in the breadcrumbs.
admin.site.enable_nav_sidebar = False


class BanStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "In force"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.exclude(expires_at__lte=now)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now)
        return queryset


class ScopeFilter(admin.SimpleListFilter):
    title = "scope"
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("site", "Site-wide"), ("stream", "One stream")]

    def queryset(self, request, queryset):
        if self.value() == "site":
            return queryset.filter(stream=None)
        if self.value() == "stream":
            return queryset.exclude(stream=None)
        return queryset


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    list_display = ["user", "scope", "until", "reason", "created_by", "created_at"]
    list_filter = [BanStateFilter, ScopeFilter]
    list_select_related = ["user", "stream", "created_by"]
    search_fields = ["=user__username", "reason"]
    ordering = ["-created_at"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    readonly_fields = ["user", "stream", "expires_at", "reason", "created_by", "created_at"]

    @admin.display(description="where", ordering="stream")
    def scope(self, ban):
        return ban.stream.title if ban.stream_id else "Site-wide"

    @admin.display(description="until", ordering="expires_at")
    def until(self, ban):
        if ban.expires_at is None:
            return "lifted by hand"
        if ban.expires_at <= timezone.now():
            return "expired"
        return ban.expires_at

    def has_change_permission(self, request, obj=None):
        # A ban is replaced by banning again, not edited: the change page is read-only.
        return False if obj is not None else may_moderate(request, "moderation.change_ban")

    def has_add_permission(self, request):
        return may_moderate(request, "moderation.add_ban")

    def has_delete_permission(self, request, obj=None):
        return may_moderate(request, "moderation.delete_ban")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = BanForm
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [
                "username",
                "stream",
                "site_wide",
                "duration",
                "reason",
                "remove_comments",
                "confirm_staff",
            ]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        minutes = int(data["duration"]) if data.get("duration") else None
        ban = services.ban_user(
            data["username"],
            stream=data["stream"],
            expires_at=timezone.now() + timedelta(minutes=minutes) if minutes else None,
            reason=data.get("reason", ""),
            remove_comments=data["remove_comments"],
            actor=request.user,
            source=SOURCE,
        )
        # The admin goes on to log and show `obj`: make it the ban the service saved.
        for field in ("id", "user", "stream", "expires_at", "reason", "created_by", "created_at"):
            setattr(obj, field, getattr(ban, field))

    def save_related(self, request, form, formsets, change):
        pass  # a ban has no many-to-many fields; the service saved everything

    def delete_model(self, request, obj):
        services.unban_user(obj.user, stream=obj.stream, actor=request.user, source=SOURCE)

    def delete_queryset(self, request, queryset):
        for ban in queryset.select_related("user", "stream"):
            services.unban_user(ban.user, stream=ban.stream, actor=request.user, source=SOURCE)


class BlockedTermChangeList(ChangeList):
    """Adds each term's hit counters to the list's page: two queries for the page."""

    def get_results(self, request):
        super().get_results(request)
        terms = list(self.result_list)
        ids = [term.id for term in terms]
        last_hour = selectors.term_hits(ids, since=timezone.now() - timedelta(hours=1))
        ever = selectors.term_hits(ids)
        for term in terms:
            term.hits_last_hour = last_hour.get(term.id, selectors.TermHits())
            term.hits_ever = ever.get(term.id, selectors.TermHits())


@admin.register(BlockedTerm)
class BlockedTermAdmin(admin.ModelAdmin):
    list_display = [
        "term",
        "action",
        "match",
        "last_hour",
        "all_time",
        "created_by",
        "created_at",
    ]
    list_filter = ["action", "match"]
    list_select_related = ["created_by"]
    search_fields = ["term"]
    form = BlockedTermForm
    change_form_template = "admin/moderation/blockedterm/change_form.html"

    def get_changelist(self, request, **kwargs):
        return BlockedTermChangeList

    def get_fields(self, request, obj=None):
        # A term is renamed by unblocking it and blocking the new one; what it does and
        # how it matches change in place (and in the log).
        return ["term", "action", "match"] if obj else ["term", "action", "match", "check_stream"]

    def get_readonly_fields(self, request, obj=None):
        return ["term"] if obj else []

    @admin.display(description="last hour")
    def last_hour(self, term):
        return _hits(getattr(term, "hits_last_hour", None))

    @admin.display(description="all time")
    def all_time(self, term):
        return _hits(getattr(term, "hits_ever", None))

    def has_change_permission(self, request, obj=None):
        return may_moderate(request, "moderation.change_blockedterm")

    def has_add_permission(self, request):
        return may_moderate(request, "moderation.add_blockedterm")

    def has_delete_permission(self, request, obj=None):
        return may_moderate(request, "moderation.delete_blockedterm")

    def add_view(self, request, form_url="", extra_context=None):
        if request.method == "POST" and "_check" in request.POST:
            return self._check(request)
        return super().add_view(request, form_url, extra_context)

    def _check(self, request):
        """Say what the typed term would have matched, and show the form again, unsaved."""
        form = self.get_form(request)(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            where = data["check_stream"]
            found = selectors.dry_run(
                Term(0, data["term"], data["action"], data["match"]),
                stream_id=where.id if where else None,
            )
            examples = format_html_join(
                ", ", "“{}”", ((Truncator(text).chars(60),) for text in found.examples)
            )
            self.message_user(
                request,
                format_html(
                    "“{}” ({}) would have matched {} of the last {} comments {}{}{}",
                    data["term"],
                    f"{data['action']}, {data['match']}",
                    found.matched,
                    f"{found.of:,}",
                    f"on “{where.title}”" if where else "on the site",
                    ": " if found.examples else ".",
                    examples,
                ),
                messages.INFO,
            )
        else:
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, error, messages.ERROR)
        # The add page takes its initial values from the query string.
        typed = {k: request.POST.get(k, "") for k in ("term", "action", "match", "check_stream")}
        return HttpResponseRedirect(f"{request.path}?{urlencode(typed)}")

    def save_model(self, request, obj, form, change):
        if change:
            services.change_term(
                obj.pk, action=obj.action, match=obj.match, actor=request.user, source=SOURCE
            )
            return
        term = services.block_term(
            obj.term, action=obj.action, match=obj.match, actor=request.user, source=SOURCE
        )
        obj.pk = term.pk

    def delete_model(self, request, obj):
        services.unblock_term(obj.term, actor=request.user, source=SOURCE)

    def delete_queryset(self, request, queryset):
        for term in queryset:
            services.unblock_term(term.term, actor=request.user, source=SOURCE)


def _hits(hits):
    counts = [(hits.held, "held"), (hits.refused, "refused")] if hits else []
    return " · ".join(f"{n} {what}" for n, what in counts if n) or "—"


class ModerationLogChangeList(LaggingChangeList):
    """Adds the text of the comments acted on to the log's page: one query for the page."""

    def get_results(self, request):
        super().get_results(request)
        actions = list(self.result_list)
        ids = {a.comment_id for a in actions if a.comment_id}
        comments = Comment.objects.using(lagging_reads()).filter(id__in=ids)
        texts = dict(comments.values_list("id", "content")) if ids else {}
        for action in actions:
            action.comment_text = texts.get(action.comment_id)


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The moderation log: who did what to whom, when, why, from where. Read-only."""

    list_display = [
        "created_at",
        "actor_name",
        "kind",
        "target",
        "stream_title",
        "reason_preview",
        "source",
    ]
    list_filter = ["kind", "source"]
    list_select_related = ["actor", "stream", "target_user"]
    search_fields = ["=actor__username", "=target_user__username", "reason"]
    ordering = ["-created_at"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator

    class Media:
        css = {"all": ["livecomments/admin.css"]}

    def get_changelist(self, request, **kwargs):
        return ModerationLogChangeList

    @admin.display(description="who", ordering="actor__username")
    def actor_name(self, action):
        return action.actor.username if action.actor_id else "operator (manage.py)"

    @admin.display(description="target")
    def target(self, action):
        parts = []
        if action.target_user_id:
            parts.append(format_html("<strong>{}</strong>", action.target_user.username))
        if action.comment_id:
            parts.append(self._comment(action))
        if action.details.get("term"):
            parts.append(format_html("term “{}”", action.details["term"]))
        if changed := action.details.get("after"):
            parts.append(format_html("now {}, {}", changed["action"], changed["match"]))
        if action.details.get("seconds") is not None:
            parts.append(format_html("{} s", action.details["seconds"]))
        return format_html_join(" · ", "{}", ((part,) for part in parts)) if parts else "—"

    @admin.display(description="stream", ordering="stream")
    def stream_title(self, action):
        return (
            Truncator(action.stream.title).chars(LOG_TEXT_CHARS // 3) if action.stream_id else "—"
        )

    @admin.display(description="reason")
    def reason_preview(self, action):
        return format_html(
            '<span title="{}">{}</span>', action.reason, Truncator(action.reason).chars(40)
        )

    def _comment(self, action):
        text = getattr(action, "comment_text", None)
        if text is None:
            # Dropped since (retention): the id is all that is left of it.
            return format_html("deleted comment {}", action.comment_id)
        url = reverse("admin:comments_comment_change", args=[action.comment_id])
        return format_html(
            '<a href="{}" title="{}">“{}”</a>',
            url,
            text,
            Truncator(text).chars(LOG_TEXT_CHARS),
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
