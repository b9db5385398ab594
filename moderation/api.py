"""Moderation over REST, for moderators only: comment flags, bans and blocked terms (stream
endpoints are in streams.api). Each endpoint calls the same service as the admin and the
commands."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from comments.models import Comment
from comments.protocol import CommentOut
from comments.rendering import render_comment
from livecomments.api import ErrorSerializer, ModeratorView
from livecomments.errors import StreamNotFound
from streams.api import ReasonSerializer
from streams.models import Stream

from . import selectors, services
from .models import Ban, BlockedTerm, ModerationAction
from .terms import Term

SOURCE = ModerationAction.Source.API
MAX_MINUTES = 60 * 24 * 366

COMMENT_ACTIONS = {
    "pin": services.pin_comment,
    "unpin": services.unpin_comment,
    "highlight": services.highlight_comment,
    "unhighlight": services.unhighlight_comment,
    "hide": services.hide_comment,
    "unhide": services.unhide_comment,
}


class ModeratedComment(CommentOut):
    isHidden: bool


def moderated_comment(comment: Comment) -> dict:
    return {**render_comment(comment), "isHidden": comment.is_hidden}


class CommentActionView(ModeratorView):
    action_name = ""  # one of COMMENT_ACTIONS, set by the URL

    @extend_schema(
        request=ReasonSerializer,
        responses={200: ModeratedComment, 404: ErrorSerializer},
        summary="Pin, unpin, highlight, unhighlight, hide or unhide a comment",
    )
    def post(self, request, comment_id: int):
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not Comment.objects.filter(id=comment_id).exists():
            raise exceptions.NotFound(f"There is no comment {comment_id}.")
        comment = COMMENT_ACTIONS[self.action_name](
            comment_id, actor=request.user, source=SOURCE, reason=body.validated_data["reason"]
        )
        return Response(moderated_comment(comment))


class BanSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    username = serializers.CharField(max_length=150)
    streamId = serializers.IntegerField(
        required=False, allow_null=True, help_text="Omit or null for a site-wide ban."
    )
    minutes = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_MINUTES,
        write_only=True,
        help_text="A timeout: the ban ends after this many minutes. Omit for a lasting ban.",
    )
    expiresAt = serializers.DateTimeField(read_only=True, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    removeComments = serializers.BooleanField(required=False, default=False, write_only=True)
    createdAt = serializers.DateTimeField(read_only=True)

    def validate_username(self, value):
        try:
            return get_user_model().objects.get(username=value)
        except get_user_model().DoesNotExist:
            raise serializers.ValidationError(f"There is no user {value!r}.") from None

    def validate_streamId(self, value):
        if value is None:
            return None
        try:
            return Stream.objects.get(id=value)
        except Stream.DoesNotExist:
            raise serializers.ValidationError(f"There is no stream {value}.") from None


def ban_body(ban: Ban) -> dict:
    return {
        "id": str(ban.id),
        "username": ban.user.username,
        "streamId": ban.stream_id,
        "expiresAt": ban.expires_at,
        "reason": ban.reason,
        "createdAt": ban.created_at,
    }


class BanListView(ModeratorView):
    @extend_schema(responses=BanSerializer(many=True), summary="Bans in force, newest first")
    def get(self, request):
        now = timezone.now()
        bans = (
            Ban.objects.exclude(expires_at__lte=now)
            .select_related("user")
            .order_by("-created_at")[:200]
        )
        return Response([BanSerializer(ban_body(b)).data for b in bans])

    @extend_schema(
        request=BanSerializer,
        responses={201: BanSerializer, 400: ErrorSerializer},
        summary="Ban or time out a user, from one stream or site-wide",
    )
    def post(self, request):
        body = BanSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        minutes = data.get("minutes")
        ban = services.ban_user(
            data["username"],
            stream=data.get("streamId"),
            expires_at=timezone.now() + timedelta(minutes=minutes) if minutes else None,
            reason=data["reason"],
            remove_comments=data["removeComments"],
            actor=request.user,
            source=SOURCE,
        )
        return Response(BanSerializer(ban_body(ban)).data, status=status.HTTP_201_CREATED)


class BanDetailView(ModeratorView):
    @extend_schema(
        request=ReasonSerializer,
        responses={204: None, 404: ErrorSerializer},
        summary="Lift a ban",
    )
    def delete(self, request, ban_id: int):
        ban = Ban.objects.select_related("user", "stream").filter(id=ban_id).first()
        if ban is None:
            raise exceptions.NotFound(f"There is no ban {ban_id}.")
        services.unban_user(ban.user, stream=ban.stream, actor=request.user, source=SOURCE)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TermHitsSerializer(serializers.Serializer):
    held = serializers.IntegerField()
    refused = serializers.IntegerField()


class TermRuleSerializer(serializers.Serializer):
    """A term and what it does: blocked, or checked before blocking."""

    term = serializers.CharField(max_length=100, help_text="Any case, any accents.")
    action = serializers.ChoiceField(
        choices=BlockedTerm.Action.choices,
        default=BlockedTerm.Action.REJECT,
        help_text="reject: refused CONTENT_VIOLATION; hold: held for review, naming the term.",
    )
    match = serializers.ChoiceField(
        choices=BlockedTerm.Match.choices,
        default=BlockedTerm.Match.WORD,
        help_text="word: the whole word; forms: also plurals and forms, look-alikes "
        "(sp0il3r) and stretched letters (spoooiler).",
    )

    def validate_term(self, value):
        if not value.strip():
            raise serializers.ValidationError("A blocked term cannot be blank.")
        return value


class BlockedTermSerializer(TermRuleSerializer):
    id = serializers.CharField(read_only=True)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500, default="", write_only=True
    )
    createdAt = serializers.DateTimeField(read_only=True)
    hitsLastHour = TermHitsSerializer(read_only=True, help_text="Comments held and refused.")
    hitsAllTime = TermHitsSerializer(read_only=True)


class TermChangeSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=BlockedTerm.Action.choices, required=False)
    match = serializers.ChoiceField(choices=BlockedTerm.Match.choices, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


def blocked_term_bodies(terms: list[BlockedTerm]) -> list[dict]:
    """The terms as the API shows them, with their hit counters: two queries for the list."""
    ids = [t.id for t in terms]
    last_hour = selectors.term_hits(ids, since=timezone.now() - timedelta(hours=1))
    ever = selectors.term_hits(ids)
    none = selectors.TermHits()
    return [
        BlockedTermSerializer(
            {
                "id": str(t.id),
                "term": t.term,
                "action": t.action,
                "match": t.match,
                "createdAt": t.created_at,
                "hitsLastHour": vars(last_hour.get(t.id, none)),
                "hitsAllTime": vars(ever.get(t.id, none)),
            }
        ).data
        for t in terms
    ]


class TermCheckSerializer(TermRuleSerializer):
    streamId = serializers.IntegerField(
        required=False, help_text="Look at this stream's comments; without it, the whole site's."
    )


class DryRunSerializer(serializers.Serializer):
    matched = serializers.IntegerField(help_text="How many of the comments it would have matched.")
    of = serializers.IntegerField(help_text="Comments looked at: the last 1,000, or fewer.")
    examples = serializers.ListField(child=serializers.CharField(), help_text="Up to three.")


class BlockedTermCheckView(ModeratorView):
    @extend_schema(
        parameters=[TermCheckSerializer],
        responses={200: DryRunSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
        summary="What a term would have matched in the last 1,000 comments, before blocking it",
    )
    def get(self, request):
        query = TermCheckSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        stream_id = data.get("streamId")
        if stream_id is not None and not Stream.objects.filter(id=stream_id).exists():
            raise StreamNotFound()
        found = selectors.dry_run(
            Term(0, data["term"].strip(), data["action"], data["match"]), stream_id=stream_id
        )
        return Response(DryRunSerializer(found).data)


class BlockedTermListView(ModeratorView):
    @extend_schema(responses=BlockedTermSerializer(many=True), summary="Blocked terms, A to Z")
    def get(self, request):
        return Response(blocked_term_bodies(list(BlockedTerm.objects.order_by("term"))))

    @extend_schema(
        request=BlockedTermSerializer,
        responses={201: BlockedTermSerializer, 400: ErrorSerializer},
        summary="Block a term: new comments with it are refused, or held for review",
    )
    def post(self, request):
        body = BlockedTermSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        blocked = services.block_term(
            body.validated_data["term"],
            action=body.validated_data["action"],
            match=body.validated_data["match"],
            actor=request.user,
            source=SOURCE,
            reason=body.validated_data["reason"],
        )
        return Response(blocked_term_bodies([blocked])[0], status=status.HTTP_201_CREATED)


class BlockedTermDetailView(ModeratorView):
    @extend_schema(
        request=TermChangeSerializer,
        responses={200: BlockedTermSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
        summary="Change what a blocked term does (action) or how it matches (match)",
    )
    def patch(self, request, term_id: int):
        if not BlockedTerm.objects.filter(id=term_id).exists():
            raise exceptions.NotFound(f"There is no blocked term {term_id}.")
        body = TermChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changed = services.change_term(
            term_id,
            action=body.validated_data.get("action"),
            match=body.validated_data.get("match"),
            actor=request.user,
            source=SOURCE,
            reason=body.validated_data["reason"],
        )
        return Response(blocked_term_bodies([changed])[0])

    @extend_schema(
        request=ReasonSerializer,
        responses={204: None, 404: ErrorSerializer},
        summary="Unblock a term",
    )
    def delete(self, request, term_id: int):
        blocked = BlockedTerm.objects.filter(id=term_id).first()
        if blocked is None:
            raise exceptions.NotFound(f"There is no blocked term {term_id}.")
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.unblock_term(
            blocked.term, actor=request.user, source=SOURCE, reason=body.validated_data["reason"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
