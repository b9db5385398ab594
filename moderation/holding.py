"""The rules that hold a comment for review (SPEC §3 "Held for review"), one evaluator.

A held comment is stored but shown to nobody until a moderator approves it. Each rule
says why it acted, in the words a moderator sees in the held queue. The host and
moderators are never held. Blocked terms are found by moderation.terms, once a post for
both of their actions: the writer refuses on a `reject` term, and hands a `hold` term here.
"""

import re
from dataclasses import dataclass

from .terms import HOLD, Term

# http(s) URLs, and bare domains ("spam.example", "www.shop.co.uk/x"): a name of letters,
# digits and hyphens, a dot, and a top-level name of letters only.
LINK = re.compile(
    r"https?://\S+|(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}\b(?![.-]\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class HoldRules:
    """What holds comments on one stream right now."""

    hold_links: bool = False
    # Shield mode: a user's first comment on the stream waits for a moderator.
    hold_first_comments: bool = False


def hold_reason(
    rules: HoldRules, content: str, *, first_here: bool, term: Term | None = None
) -> str | None:
    """Why `content` is held on a stream with these rules, or None when it goes out.

    `term` is the blocked term found in the content, if any.
    """
    if term is not None and term.action == HOLD:
        return held_for_term(term)
    if rules.hold_first_comments and first_here:
        return "first comment here (shield mode)"
    if rules.hold_links and LINK.search(content):
        return "link"
    return None


def held_for_term(term: Term) -> str:
    return f"blocked term “{term.term}”"
