"""The benchmark ships with the package and starts on the README's install (no dev extra)."""

import re
import subprocess
import sys
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from setuptools import find_packages

from tests.gateways import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())

# Runs manage.py with the modules that only the dev extra brings made unimportable.
WITHOUT_DEV = """
import runpy, sys
from importlib.abc import MetaPathFinder

blocked = set(sys.argv[1].split(","))

class DevExtraMissing(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, DevExtraMissing())
sys.argv = ["manage.py", *sys.argv[2:]]
runpy.run_path("manage.py", run_name="__main__")
"""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_closure(requirements: list[str]) -> set[str]:
    """The distributions these requirements install, their own requirements included."""
    found: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        name = canonical(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        found.add(name)
        try:
            needs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in needs:
            need = Requirement(text)
            extras = ["", *requirement.extras]
            if need.marker is None or any(need.marker.evaluate({"extra": e}) for e in extras):
                pending.append(need)
    return found


def dev_only_modules() -> set[str]:
    project = PYPROJECT["project"]
    main = installed_closure(project["dependencies"])
    dev_only = installed_closure(project["optional-dependencies"]["dev"]) - main
    return {
        module
        for module, distributions in metadata.packages_distributions().items()
        if all(canonical(d) in dev_only for d in distributions)
    }


def test_loadbench_help_works_without_the_dev_extra():
    blocked = dev_only_modules()
    assert {"pytest", "playwright"} <= blocked  # the check itself finds the dev extra

    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_DEV, ",".join(sorted(blocked)), "loadbench", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "--viewers" in result.stdout


def test_loadbench_is_part_of_the_package():
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]

    packages = find_packages(where=str(PROJECT_ROOT), include=include)

    assert "loadbench" in packages
