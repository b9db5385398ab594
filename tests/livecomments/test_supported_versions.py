"""The supported ranges of the live path's libraries (pyproject.toml), which
scripts/version-matrix tests at both ends, agree with the pins and keep known breakage out."""

import subprocess
import sys
import tomllib
from importlib.metadata import version

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from livecomments.servers import SERVERS, gateway_command
from tests.gateways import PROJECT_ROOT

PROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
SUPPORTED = {
    name: SpecifierSet(spec) for name, spec in PROJECT["tool"]["livecomments"]["supported"].items()
}
PINS = {
    (req := Requirement(line)).name.lower(): req.specifier
    for line in PROJECT["project"]["dependencies"]
}


def test_the_live_path_libraries_are_all_declared():
    assert set(SUPPORTED) == {"channels", "channels-redis", "daphne", "uvicorn", "redis"}


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_the_shipped_pin_is_inside_the_supported_range(name):
    (pin,) = PINS[name]
    assert pin.operator == "==", f"{name} is pinned, the range lives in [tool.livecomments]"
    assert pin.version in SUPPORTED[name]


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_the_installed_release_is_inside_the_supported_range(name):
    # Under scripts/version-matrix this is the combination's end of the range.
    assert version(name) in SUPPORTED[name]


def test_the_releases_that_broke_group_sends_are_outside_the_range():
    # channels 4.2.1 dropped the name checks channels-redis 4.2.1 calls (AttributeError
    # on every send; django/channels#2144); 4.2.2 restored them.
    assert "4.2.1" not in SUPPORTED["channels"]
    assert "4.2.0" not in SUPPORTED["channels"]  # channels-redis 4.3 needs >= 4.2.2


@pytest.mark.parametrize("server", SERVERS)
def test_the_installed_server_knows_every_option_of_the_gateway_command(server):
    # daphne 4.2.0 and 4.2.1 have no --websocket-max-message-size: every gateway exited at
    # start. uvicorn's --ws websockets-sansio is newer than its other choices.
    command = gateway_command(server, "127.0.0.1", 8000, quiet=True)
    usage = subprocess.run(
        [sys.executable, "-m", server, "--help"], capture_output=True, text=True, check=True
    ).stdout
    options = [word for word in command if word.startswith("--")]
    assert [option for option in options if option not in usage] == []
    if server == "uvicorn":
        assert "websockets-sansio" in usage
