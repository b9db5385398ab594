"""The moderation console's forms: banning someone and blocking a term.

They only check what a moderator typed; the admin hands the result to moderation.services.
"""

from django import forms
from django.contrib.auth import get_user_model

from streams.models import Stream

from .models import Ban, BlockedTerm

# Most bans in a live chat are a short timeout on one stream: that is the default, and a
# ban until lifted is a choice made on purpose.
DEFAULT_DURATION = "10"
DURATIONS = [
    ("5", "Time out for 5 minutes"),
    ("10", "Time out for 10 minutes"),
    ("60", "Time out for 1 hour"),
    ("1440", "Time out for 24 hours"),
    ("10080", "Time out for 7 days"),
    ("", "Until lifted"),
]


class BanForm(forms.ModelForm):
    username = forms.CharField(max_length=150, help_text="Who to ban.")
    stream = forms.ModelChoiceField(
        queryset=Stream.objects.filter(status=Stream.Status.LIVE).order_by("-created_at"),
        required=False,
        empty_label="— choose a live stream —",
        help_text="The stream to ban them from.",
    )
    site_wide = forms.BooleanField(
        required=False,
        label="Site-wide instead",
        help_text="Ban them from every stream (leave the stream empty).",
    )
    duration = forms.ChoiceField(choices=DURATIONS, initial=DEFAULT_DURATION, required=False)
    remove_comments = forms.BooleanField(
        required=False,
        label="Remove their comments",
        help_text="Hide their comments (on this stream, or everywhere) from every viewer.",
    )
    confirm_staff = forms.BooleanField(
        required=False,
        label="Yes, ban this staff member",
        help_text="Needed only when the user is staff (a moderator or an admin).",
    )

    class Meta:
        model = Ban
        fields = ["reason"]

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise forms.ValidationError(f"There is no user {username!r}.") from None

    def clean(self):
        data = super().clean()
        stream, site_wide = data.get("stream"), data.get("site_wide")
        if not self.has_error("stream"):
            if stream is None and not site_wide:
                self.add_error(
                    "stream", "Choose the stream, or tick “site-wide instead” for every stream."
                )
            elif stream is not None and site_wide:
                self.add_error(
                    "site_wide", "A ban is on one stream or site-wide: empty the stream or untick."
                )
        user = data.get("username")
        if user is not None and user.is_staff and not data.get("confirm_staff"):
            self.add_error(
                "confirm_staff",
                f"{user.username} is staff: tick “yes, ban this staff member” to ban them.",
            )
        return data


class BlockedTermForm(forms.ModelForm):
    # Not stored: where "check" looks for what the term would have matched.
    check_stream = forms.ModelChoiceField(
        queryset=Stream.objects.order_by("-created_at"),
        required=False,
        empty_label="— the whole site —",
        label="Check on",
        help_text="“Check” counts what the term would have matched in the last 1,000 "
        "comments here; saving ignores it.",
    )

    class Meta:
        model = BlockedTerm
        fields = ["term", "action", "match"]
        widgets = {"action": forms.RadioSelect, "match": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A post without them (a script, an older page) blocks the term as before this
        # choice existed: refused, as a whole word.
        for name in ("action", "match"):
            if name in self.fields:
                self.fields[name].required = False

    def clean_action(self):
        return self.cleaned_data["action"] or BlockedTerm.Action.REJECT

    def clean_match(self):
        return self.cleaned_data["match"] or BlockedTerm.Match.WORD

    def clean_term(self):
        # Checked here so that a duplicate reads as a sentence, not as the name of the
        # unique-on-lower(term) constraint the model would report.
        term = self.cleaned_data["term"]
        existing = BlockedTerm.objects.filter(term__iexact=term).first()
        if existing is not None:
            raise forms.ValidationError(f"“{existing.term}” is already blocked.")
        return term
