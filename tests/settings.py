"""The project's settings with a fast password hasher, for this process and every process
it starts (they inherit the environment, so gateways accept the persona users' hashes)."""

import os

os.environ.setdefault("LC_INSECURE_FAST_PASSWORD_HASHER", "1")

from livecomments.settings import *  # noqa: F403
