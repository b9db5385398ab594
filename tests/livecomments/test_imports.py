"""The house's layout holds: each runtime module imports on its own, arrows point one way,
and the base knows no app."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from comments.consumers import LiveConsumer
from comments.protocol import CLIENT_MESSAGES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
IMPORT_CYCLES = PROJECT_ROOT.parent / "shared" / "tools" / "import-cycles"
APPS = ("comments", "streams", "moderation", "loadbench")
# The base: what every app imports. It may import nothing of the apps.
BASE_MODULES = ("errors", "events", "metrics", "replica", "settings")

RUNTIME_MODULES = [
    "livecomments.errors",
    "livecomments.events",
    "livecomments.metrics",
    "comments.protocol",
    "comments.batcher",
    "comments.delivery",
    "comments.relay",
    "comments.periodic",
    "comments.writer",
    "comments.gateway",
    "comments.services",
    "comments.consumers",
    "comments.shutdown",
    "livecomments.asgi",
]


@pytest.mark.parametrize("module", RUNTIME_MODULES)
def test_each_runtime_module_imports_on_its_own(module):
    # A fresh interpreter per module: an import that only works after another module was
    # imported first (a hidden cycle) fails here.
    code = f"import django; django.setup(); import {module}"
    if module == "livecomments.asgi":
        code = f"import {module}"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={"DJANGO_SETTINGS_MODULE": "livecomments.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("module", BASE_MODULES)
def test_the_base_imports_no_app(module):
    path = PROJECT_ROOT / "livecomments" / f"{module}.py"
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module)
    assert not {name for name in imported if name.split(".")[0] in APPS}


@pytest.mark.skipif(not IMPORT_CYCLES.exists(), reason="needs ../shared/tools beside the project")
def test_there_is_no_import_cycle_among_our_modules():
    done = subprocess.run(
        [sys.executable, str(IMPORT_CYCLES)], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert done.stdout.strip().splitlines()[-1] == "import cycles: 0", done.stdout


def test_the_consumer_handles_every_client_message_type():
    assert set(LiveConsumer.HANDLERS) == set(CLIENT_MESSAGES)
