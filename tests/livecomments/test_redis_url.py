"""REDIS_URL: one server, shards, Sentinel; a malformed one stops the process at start."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from livecomments.redis_url import RedisServer, channel_layer_hosts, parse_redis_url
from tests.gateways import PROJECT_ROOT


def test_one_server_is_one_shard():
    assert parse_redis_url("redis://127.0.0.1:6379/2") == (
        RedisServer(url="redis://127.0.0.1:6379/2"),
    )


def test_unset_is_no_redis():
    assert parse_redis_url("") == ()


def test_comma_separated_servers_are_shards_in_order():
    servers = parse_redis_url("redis://a:6379/0, rediss://b:6380/0,unix:///run/redis.sock")
    assert [s.url for s in servers] == [
        "redis://a:6379/0",
        "rediss://b:6380/0",
        "unix:///run/redis.sock",
    ]


def test_sentinel_url_names_its_sentinels_master_and_db():
    (server,) = parse_redis_url("redis+sentinel://s1:26379,s2:26380,s3/live/3")
    assert server == RedisServer(
        master="live", sentinels=(("s1", 26379), ("s2", 26380), ("s3", 26379)), db=3
    )
    assert channel_layer_hosts((server,))[0]["master_name"] == "live"


def test_sentinel_urls_may_be_shards():
    servers = parse_redis_url("redis+sentinel://s1:1,s2:2/one,redis+sentinel://s1:1,s2:2/two/1")
    assert [(s.master, s.db) for s in servers] == [("one", 0), ("two", 1)]


@pytest.mark.parametrize(
    "value",
    [
        "http://127.0.0.1:6379/0",
        "127.0.0.1:6379",
        "redis://127.0.0.1:notaport/0",
        "redis://:6379/0",
        "redis+sentinel://s1:26379",  # no master
        "redis+sentinel://s1:26379/live/zero",
        "redis+sentinel://s1:port/live",
        "redis+sentinel:///live",
        "redis://a:1/0,redis://a:1/0",
        "redis://a:1/0,b:2",
    ],
)
def test_a_malformed_redis_url_is_refused_with_its_reason(value):
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        parse_redis_url(value)


def test_a_malformed_redis_url_stops_the_process_at_start():
    env = {
        **os.environ,
        "REDIS_URL": "redis+sentinel://127.0.0.1:26379",
        "DJANGO_SETTINGS_MODULE": "livecomments.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr and "MASTER" in result.stderr
