"""Failed logins are limited per username and per client address, on the page and the API."""

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.urls import reverse

from livecomments import metrics
from livecomments.login_attempts import LoginAttempts

pytestmark = pytest.mark.django_db

LIMIT = 3
WINDOW = 60


@pytest.fixture(autouse=True)
def small_login_limit(settings):
    settings.LIVE_COMMENTS = {**settings.LIVE_COMMENTS, "LOGIN_FAILURES": (LIMIT, WINDOW)}
    cache.clear()
    yield
    cache.clear()


def log_in(client, username, password, address="10.0.0.1", **extra):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def get_token(client, username, password, address="10.0.0.1"):
    return client.post(
        reverse("api:token"),
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def test_the_login_page_refuses_a_username_after_too_many_failures(client, alice):
    for _ in range(LIMIT):
        assert log_in(client, "alice", "wrong").status_code == 200

    throttled = metrics.LOGIN_THROTTLED._value.get()

    refused = log_in(client, "alice", "pw-alice")  # even the right password is not tried

    assert refused.status_code == 429
    assert metrics.LOGIN_THROTTLED._value.get() == throttled + 1
    assert 0 < int(refused["Retry-After"]) <= WINDOW
    assert b"Too many failed logins. Try again in" in refused.content
    assert "_auth_user_id" not in client.session


def test_the_username_limit_holds_across_addresses_and_letter_case(client, alice):
    for n in range(LIMIT):
        log_in(client, "Alice" if n % 2 else "alice", "wrong", address=f"10.0.1.{n}")

    assert log_in(client, "alice", "pw-alice", address="10.0.2.1").status_code == 429


def test_one_address_guessing_many_usernames_is_refused(client, alice, bob):
    for n in range(LIMIT):
        log_in(client, f"nobody{n}", "wrong", address="10.0.0.9")

    assert log_in(client, "bob", "pw-bob", address="10.0.0.9").status_code == 429
    # Another address may still log in as bob.
    assert log_in(client, "bob", "pw-bob", address="10.0.0.10").status_code == 302


def test_a_successful_login_clears_its_usernames_failures(client, alice):
    for _ in range(LIMIT - 1):
        log_in(client, "alice", "wrong", address="10.0.3.1")
    assert log_in(client, "alice", "pw-alice", address="10.0.3.2").status_code == 302
    client.logout()

    for _ in range(LIMIT - 1):
        assert log_in(client, "alice", "wrong", address="10.0.3.3").status_code == 200
    assert log_in(client, "alice", "pw-alice", address="10.0.3.3").status_code == 302


def test_the_limit_ends_with_its_window(client, alice):
    attempts = LoginAttempts("alice", "10.0.0.1", now=1_000_000.0)
    for _ in range(LIMIT):
        attempts.failed()
    with pytest.raises(Exception, match="Too many failed logins"):
        attempts.check()
    assert attempts.retry_after == WINDOW - 1_000_000 % WINDOW

    LoginAttempts("alice", "10.0.0.1", now=1_000_000.0 + WINDOW).check()


def test_every_counter_expires(client, alice):
    backend = caches["default"]
    if not isinstance(backend, RedisCache):  # ours, ShardedRedisCache, is one
        pytest.skip("expiries are read from Redis (set REDIS_URL)")
    log_in(client, "alice", "wrong")
    raw = backend._cache.get_client()  # Django's RedisCache: the redis-py client
    keys = raw.keys("*login-failures*")
    assert len(keys) == 2
    assert all(0 < raw.ttl(key) <= WINDOW + 1 for key in keys)


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(client, alice, settings):
    settings.LIVE_COMMENTS = {**settings.LIVE_COMMENTS, "TRUSTED_PROXIES": ["10.9.9.9"]}
    for n in range(LIMIT):
        log_in(client, f"nobody{n}", "wrong", "10.9.9.9", HTTP_X_FORWARDED_FOR="1.2.3.4")

    blocked = log_in(client, "alice", "pw-alice", "10.9.9.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    other = log_in(client, "alice", "pw-alice", "10.9.9.9", HTTP_X_FORWARDED_FOR="5.6.7.8")

    assert blocked.status_code == 429
    assert other.status_code == 302


def test_the_token_endpoint_shares_the_limit(client, alice):
    assert get_token(client, "alice", "pw-alice").status_code == 200
    for _ in range(LIMIT - 1):
        assert get_token(client, "alice", "wrong").status_code == 400
    assert log_in(client, "alice", "wrong").status_code == 200  # the page's failure counts too

    refused = get_token(client, "alice", "pw-alice")

    assert refused.status_code == 429
    assert refused.json()["code"] == "RATE_LIMITED"
    assert refused.json()["retryable"] is True
    assert 0 < int(refused["Retry-After"]) <= WINDOW
    assert log_in(client, "alice", "pw-alice").status_code == 429
