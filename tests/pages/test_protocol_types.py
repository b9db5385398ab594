"""What the browser client knows of the server is generated from the Python that declares it."""

import json
import shutil
import subprocess
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from comments import snowflake
from comments.management.commands.protocol_types import DEFAULT_OUTPUT_DIR, render_files
from comments.protocol import MAX_CONTENT_CHARS, REACTION_TYPES, ReportLatency
from livecomments.errors import Banned, ErrorCode, RateLimited, StreamEnded
from streams.views import PAGE_REASONS, REACTION_EMOJI

GENERATED = ["protocol.d.ts", "protocol.js"]


def run_node(source: str) -> Any:
    """Run an ES module from the project root with node; return what it printed, as JSON."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    done = subprocess.run(
        [node, "--input-type=module", "-e", source],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_committed_files_match_the_python():
    call_command("protocol_types", "--check")


@pytest.mark.parametrize("name", GENERATED)
def test_check_fails_when_a_generated_file_is_stale(tmp_path, capsys, name):
    for generated in GENERATED:
        shutil.copy(DEFAULT_OUTPUT_DIR / generated, tmp_path)
    stale = tmp_path / name
    stale.write_text(stale.read_text(encoding="utf-8") + "// edited by hand\n", encoding="utf-8")

    with pytest.raises(SystemExit) as exit_info:
        call_command("protocol_types", "--check", output_dir=tmp_path)

    assert exit_info.value.code == 1
    assert f"{stale} is stale" in capsys.readouterr().err


def test_check_fails_when_a_generated_file_is_missing(tmp_path):
    shutil.copy(DEFAULT_OUTPUT_DIR / "protocol.d.ts", tmp_path)

    with pytest.raises(SystemExit):
        call_command("protocol_types", "--check", output_dir=tmp_path)


def test_declarations_carry_every_error_code_optional_field_and_value():
    declarations = render_files()["protocol.d.ts"]

    assert '"UNAVAILABLE"' in declarations
    assert "lastSeenCommentId?: string | null;" in declarations
    assert "report_latency: ReportLatencyPayload;" in declarations
    assert "export const REASONS: Readonly<Record<ErrorCode, string>>;" in declarations


def test_the_client_holds_the_facts_python_declares():
    client = run_node(
        'import * as protocol from "./static/livecomments/protocol.js";'
        "console.log(JSON.stringify(protocol));"
    )

    assert client["REACTION_TYPES"] == list(REACTION_TYPES)
    assert client["REACTION_EMOJI"] == REACTION_EMOJI
    assert client["MAX_CONTENT_CHARS"] == MAX_CONTENT_CHARS
    assert (
        client["MAX_SAMPLES_PER_REPORT"]
        == (ReportLatency.model_json_schema()["properties"]["samples"]["maxItems"])
    )
    assert client["SNOWFLAKE"] == {
        "epochMs": snowflake.EPOCH_MS,
        "workerBits": snowflake.WORKER_BITS,
        "sequenceBits": snowflake.SEQUENCE_BITS,
    }
    assert set(client["REASONS"]) == {code.value for code in ErrorCode}
    for code, text in PAGE_REASONS.items():
        assert client["REASONS"][code] == text
    for error in (RateLimited, Banned, StreamEnded):  # the page says what the server says
        assert client["REASONS"][error.code] == error.default_message


def test_the_client_resumes_from_the_id_python_made_five_seconds_earlier():
    def made_at(unix_seconds: float) -> str:
        return str(snowflake.SnowflakeGenerator(worker=3, clock=lambda: unix_seconds).next_id())

    newest = made_at(1_750_000_000.0)
    client = run_node(
        'import { RESUME_OVERLAP_MS, resumeAfter } from "./static/livecomments/store.js";'
        "console.log(JSON.stringify({overlapMs: RESUME_OVERLAP_MS, from: resumeAfter(%s)}));"
        % json.dumps(newest)
    )

    assert client["from"] == made_at(1_750_000_000.0 - client["overlapMs"] / 1000)
