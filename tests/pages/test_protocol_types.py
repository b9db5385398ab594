"""The TypeScript declarations the client is checked against follow comments/protocol.py."""

import pytest
from django.core.management import call_command

from comments.management.commands.protocol_types import DEFAULT_OUTPUT, render_declarations


def test_the_committed_declarations_match_the_protocol():
    call_command("protocol_types", "--check")


def test_check_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "protocol.d.ts"
    stale.write_text(DEFAULT_OUTPUT.read_text().replace("lastSeenCommentId", "lastSeenId"))

    with pytest.raises(SystemExit) as exit_info:
        call_command("protocol_types", "--check", output=stale)

    assert exit_info.value.code == 1


def test_declarations_carry_every_error_code_and_optional_field():
    declarations = render_declarations()

    assert '"UNAVAILABLE"' in declarations
    assert "lastSeenCommentId?: string | null;" in declarations
    assert "report_latency: ReportLatencyPayload;" in declarations
