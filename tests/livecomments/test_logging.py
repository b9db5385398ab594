"""Structured logs: LOG_FORMAT=json writes one JSON object per line, with `extra` as keys."""

import json
import logging
import os
import subprocess
import sys

from livecomments.logging import JsonFormatter
from tests.gateways import PROJECT_ROOT


def record(message="dropped %s", args=("a socket",), **extra):
    made = logging.LogRecord("comments.limits", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_record_becomes_one_json_object_with_its_extra_fields():
    line = JsonFormatter().format(record(client="203.0.113.9", buffered_bytes=90_000))

    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "WARNING" and entry["logger"] == "comments.limits"
    assert entry["message"] == "dropped a socket"
    assert entry["client"] == "203.0.113.9" and entry["buffered_bytes"] == 90_000
    assert entry["time"].endswith("+00:00")
    assert "args" not in entry and "lineno" not in entry


def test_exceptions_and_values_json_cannot_hold_are_written_as_text():
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record(message="handling failed", args=(), stream={1, 2})
        failed.exc_info = sys.exc_info()

    entry = json.loads(JsonFormatter().format(failed))

    assert "ValueError: boom" in entry["exception"]
    assert entry["stream"] == "{1, 2}"


def run_with_log_format(value: str) -> subprocess.CompletedProcess:
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('comments.limits').warning('refused %s', 'x', extra={'client': 'c'})"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "livecomments.settings", "LOG_FORMAT": value}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )


def test_log_format_json_switches_the_whole_process_to_json_lines():
    result = run_with_log_format("json")

    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["message"] == "refused x" and entry["client"] == "c"


def test_an_unknown_log_format_fails_loudly():
    result = run_with_log_format("xml")

    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json" in result.stderr
