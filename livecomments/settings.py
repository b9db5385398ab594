"""Settings, read from the environment (SPEC §2).

With neither DATABASE_URL nor REDIS_URL set this is the embedded default: one process
on SQLite, Channels' in-memory layer and Django's local-memory cache.
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from livecomments.redis_url import channel_layer_hosts, parse_redis_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_delivery_policy(name: str) -> tuple[tuple[int, float, float], ...] | None:
    """Delivery tiers "min_viewers:interval_seconds:fraction_kept,…", or None when unset."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        tiers = tuple(
            (int(viewers), float(interval), float(kept))
            for viewers, interval, kept in (tier.split(":") for tier in raw.split(","))
        )
    except ValueError:
        tiers = ()
    if not any(viewers == 0 for viewers, _, _ in tiers) or any(
        interval <= 0 or not 0 < kept <= 1 for _, interval, kept in tiers
    ):
        raise ImproperlyConfigured(
            f'{name} must be tiers "min_viewers:interval_seconds:fraction_kept,…" with one '
            f"starting at 0 viewers, intervals above 0 and fractions in (0, 1]; got {raw!r}"
        )
    return tiers


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "development-only-secret-key-never-used-in-production-0123456789"

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "streams",
    "comments",
    "moderation",
    "livecomments.outbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "livecomments.urls"
ASGI_APPLICATION = "livecomments.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Databases. Async consumers open connections from a thread pool, so persistent
# connections are off and PostgreSQL connections come from psycopg 3's pool instead.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    try:
        _database = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {error}") from None
else:
    _database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE_DIR / "db.sqlite3")}
if _database["ENGINE"] == "django.db.backends.postgresql":
    _database.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env_int("DATABASE_POOL_SIZE", 20),
        # While PostgreSQL is down a post is refused (UNAVAILABLE) after this wait, not
        # hung; a refused post is retried by the client with the same key.
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 2),
    }
elif _database["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the thread pool's connections write without
    # "database is locked" errors under the embedded default.
    _database.setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
DATABASES = {"default": _database}
# A PostgreSQL replica for reads that may lag (SPEC §2): lists, replay, resumes beyond the
# recent cache, the admin's lists. Code asks for it by name (`.using(LAGGING_READS)`),
# never through a router: the same Comment read may lag in a list and must not in the
# rules of a post, and only the caller knows which it is.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
LAGGING_READS = "default"
if DATABASE_REPLICA_URL:
    try:
        _replica = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=0)
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URL is not a database URL: {error}") from None
    if _replica["ENGINE"] != "django.db.backends.postgresql" or "OPTIONS" not in _database:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs PostgreSQL in both URLs")
    _replica["OPTIONS"] = {"pool": dict(_database["OPTIONS"]["pool"])}
    # The test runner makes no second test database for a replica: it reads the primary's.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    LAGGING_READS = "replica"
# Retention (SPEC §5, `manage.py retention`): unset keeps every comment.
LC_RETENTION_DAYS = env_int("LC_RETENTION_DAYS", 0) or None
if LC_RETENTION_DAYS is not None and LC_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(f"LC_RETENTION_DAYS must be 1 or more, got {LC_RETENTION_DAYS}")
LC_ARCHIVE_DIR = Path(os.environ.get("LC_ARCHIVE_DIR") or BASE_DIR / "archive")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: one server, shards or Sentinel (livecomments.redis_url, SPEC §2) -------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Parsed here so that a malformed REDIS_URL stops the process at start, with its reason.
_redis_servers = parse_redis_url(REDIS_URL)

if _redis_servers:
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer publishes a group message once; every gateway process
            # subscribes once per stream (livecomments.events), so Redis work does not grow
            # with the number of viewers. With several hosts it puts each group on one of
            # them; livecomments.redis_topology puts the stream's state on the same one.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": channel_layer_hosts(_redis_servers)},
        }
    }
    CACHES = {
        "default": {
            # Django's RedisCache reads from replicas, not shards, and knows no Sentinel.
            "BACKEND": "livecomments.redis_cache.ShardedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "lc",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Tests only: persona users hashed with PBKDF2 made the suite several times slower. The test
# run sets this (tests/settings.py), and the gateway processes it starts inherit it, so they
# accept the users' hashes; unset, Django's default hashers.
if env_bool("LC_INSECURE_FAST_PASSWORD_HASHER", False):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Live comments API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # OpenAPI 3.1 is JSON Schema, which the protocol's pydantic models (comments.protocol)
    # are described in, nullable fields included.
    "OAS_VERSION": "3.1.0",
}

# Product limits (SPEC §3). Settings so that the throughput benchmark can raise them.
LIVE_COMMENTS: dict[str, Any] = {
    "RATE_LIMIT_GLOBAL": (
        env_int("LC_RATE_GLOBAL_COUNT", 30),
        env_int("LC_RATE_GLOBAL_SECONDS", 60),
    ),
    "RATE_LIMIT_STREAM": (
        env_int("LC_RATE_STREAM_COUNT", 5),
        env_int("LC_RATE_STREAM_SECONDS", 30),
    ),
    # The degradation policy (SPEC §3); unset, the seed's tiers (comments.batcher).
    "DELIVERY_POLICY": env_delivery_policy("LC_DELIVERY_POLICY"),
    # Edge limits (comments.limits): open sockets per client address per gateway (0: no
    # cap), and bytes a socket's send buffer may hold before its client is dropped.
    "MAX_SOCKETS_PER_CLIENT": env_int("LC_MAX_SOCKETS_PER_CLIENT", 100),
    "MAX_BUFFERED_BYTES": env_int("LC_MAX_BUFFERED_BYTES", 1024 * 1024),
    # The kernel's send buffer per socket (SO_SNDBUF); 0 leaves it to the kernel's tuning.
    "SOCKET_SEND_BUFFER_BYTES": env_int("LC_SOCKET_SEND_BUFFER_BYTES", 0),
    # Comment batches framed once and written straight to each socket, on the server
    # versions this was tested with (comments/server_internals.py); off: the plain ASGI path.
    "DIRECT_WRITES": env_bool("LC_DIRECT_WRITES", True),
    # Less memory per open socket on the tested versions (comments/server_internals.py): a
    # lighter queue of incoming messages, the handshake dropped once accepted, no task per
    # message read; off: each left as the server and Channels make it.
    "LIGHT_SOCKETS": env_bool("LC_LIGHT_SOCKETS", True),
    # How long the comment writer waits for more posts before a flush, so that posts
    # arriving together share one transaction and one after-commit round trip to Redis;
    # only when posts come this close together (a lone post is written at once).
    "WRITER_GATHER_MS": env_int("LC_WRITER_GATHER_MS", 25),
    # Peers whose X-Forwarded-For is believed (the load balancers).
    "TRUSTED_PROXIES": env_list("LC_TRUSTED_PROXIES", []),
    # Failed logins per client address and per username before /accounts/login/ says 429.
    "LOGIN_FAILURES": (env_int("LC_LOGIN_FAILURES", 10), env_int("LC_LOGIN_WINDOW_SECONDS", 300)),
    # When set, /metrics answers only "Authorization: Bearer <token>".
    "METRICS_TOKEN": os.environ.get("LC_METRICS_TOKEN", ""),
    # Distinct reporters that take a comment out of the feed and hold it for review.
    "REPORT_HOLD_THRESHOLD": env_int("LC_REPORT_HOLD_THRESHOLD", 3),
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
    # Load balancers probe gateways over plain HTTP: a redirect would read as "down".
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# LOG_FORMAT=json writes one JSON object per line, with each call's `extra` fields as keys
# (livecomments.logging); the default is plain text.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "") or "plain"
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "livecomments.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
