"""The content rule every comment passes, posted or edited: 1 to 500 characters, trimmed,
none of them NUL (PostgreSQL's text cannot hold it; the HTTP API's parser refuses it too)."""

from livecomments.errors import ContentViolation

from .protocol import MAX_CONTENT_CHARS


def clean_content(content: str) -> str:
    """The comment's text as stored, or ContentViolation saying what is wrong with it."""
    text = content.strip()
    if not text:
        raise ContentViolation("A comment cannot be empty.")
    if len(text) > MAX_CONTENT_CHARS:
        raise ContentViolation(f"A comment is at most {MAX_CONTENT_CHARS} characters.")
    if "\x00" in text:
        # Refused here, alone: stored, it would fail the whole flush it shares.
        raise ContentViolation("A comment cannot contain NUL characters.")
    return text
