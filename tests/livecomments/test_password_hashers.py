"""The test run hashes passwords fast; nothing else does unless told to, loudly."""

import os
import subprocess
import sys

import pytest

from tests.gateways import PROJECT_ROOT

PRINT_HASHER = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.PASSWORD_HASHERS[0])"
)


def first_hasher(value: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "livecomments.settings"}
    env.pop("LC_INSECURE_FAST_PASSWORD_HASHER", None)
    if value is not None:
        env["LC_INSECURE_FAST_PASSWORD_HASHER"] = value
    return subprocess.run(
        [sys.executable, "-c", PRINT_HASHER],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.django_db
def test_persona_users_are_hashed_with_md5_in_tests(alice):
    assert alice.password.startswith("md5$")
    assert alice.check_password("pw-alice")


def test_unset_passwords_are_hashed_with_djangos_default():
    result = first_hasher(None)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.contrib.auth.hashers.PBKDF2PasswordHasher"


def test_a_bad_value_fails_loudly():
    result = first_hasher("sometimes")

    assert result.returncode != 0
    assert "LC_INSECURE_FAST_PASSWORD_HASHER must be a boolean" in result.stderr
