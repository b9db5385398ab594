import pytest
import redis
from django.conf import settings
from django.db import connection

# The suite flushes its Redis database before every test, in every session running on
# this machine; the baseline keeps its group members there, so a flush from another
# session would silently empty its groups mid-run (every viewer then receives nothing).
# The benchmark's gateways get a database of their own.
BENCHMARK_REDIS_DB = 13


@pytest.fixture
def benchmark_redis_url():
    """An empty Redis database for the gateways; skip unless on PostgreSQL and Redis."""
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("the benchmark needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    url = settings.REDIS_URL.rsplit("/", 1)[0] + f"/{BENCHMARK_REDIS_DB}"
    redis.Redis.from_url(url).flushdb()
    return url
