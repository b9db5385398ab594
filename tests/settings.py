"""The project's settings with a fast password hasher, for this process and every process
it starts (they inherit the environment, so gateways accept the persona users' hashes)."""

import os

os.environ.setdefault("LC_INSECURE_FAST_PASSWORD_HASHER", "1")

from livecomments.settings import *  # noqa: F403

# A second, real database beside the test database, for the tests that prove which reads
# go to a replica (tests/livecomments/test_replica.py switch LAGGING_READS to it). Its
# test database is made only for the tests that ask for it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["replica"] = {  # noqa: F405
        **DATABASES["default"],  # noqa: F405
        "NAME": f"{DATABASES['default']['NAME']}_replica",  # noqa: F405
        "OPTIONS": {"pool": dict(DATABASES["default"]["OPTIONS"]["pool"])},  # noqa: F405
        "TEST": {"NAME": f"test_{DATABASES['default']['NAME']}_replica"},  # noqa: F405
    }
