"""Settings of the gateway that serves the console under load: the project's, production-shaped
(DEBUG off), but serving the static files from the source tree, so a run needs no
collectstatic (the manifest storage would refuse every {% static %} without one).
"""

from livecomments.settings import *  # noqa: F403
from livecomments.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
