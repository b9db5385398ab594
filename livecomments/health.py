"""Health checks for load balancers: /healthz (the process answers), /readyz (it can work)."""

import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from livecomments.redis_topology import sync_pool
from livecomments.redis_url import parse_redis_url

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """200 when PostgreSQL (or SQLite) and Redis answer; 503 naming what does not."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    ready = all(result in ("ok", "not configured") for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        logger.warning("readiness: database check failed: %s", error)
        return "unreachable"
    return "ok"


def _check_redis() -> str:
    """Every server of REDIS_URL (each shard; behind Sentinel, the current primary)."""
    servers = parse_redis_url(settings.REDIS_URL)
    if not servers:
        return "not configured"
    for server in servers:
        pool = sync_pool(
            server,
            socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
            socket_timeout=CHECK_TIMEOUT_SECONDS,
        )
        try:
            redis.Redis(connection_pool=pool).ping()
        except Exception as error:
            logger.warning("readiness: redis check of %s failed: %s", server, error)
            return "unreachable"
        finally:
            pool.disconnect()
    return "ok"
