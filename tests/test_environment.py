"""environment.yml lists exactly pyproject.toml's requirements (conda-forge names), same versions."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"python-duckdb": "duckdb"}  # conda-forge name -> PyPI name


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    return {Requirement(line).name.lower(): str(Requirement(line).specifier) for line in lines}


def conda_requirements() -> dict[str, str]:
    entries = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    specs = {}
    for entry in entries:
        if not isinstance(entry, str) or entry.split("=")[0] in ("python", "pip"):
            continue
        requirement = Requirement(entry)
        specs[CONDA_NAMES.get(requirement.name, requirement.name).lower()] = str(requirement.specifier)
    return specs


def test_environment_yml_agrees_with_pyproject():
    assert conda_requirements() == pyproject_requirements()
