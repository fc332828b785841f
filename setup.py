"""The packages to build, for setuptools (everything else is in pyproject.toml).

Two folders stay at the top of the repository and ship inside the concerns package, where
importlib.resources finds them in the checkout, an editable install and an installed wheel alike:
templates/ as concerns.templates and examples/ as concerns.examples ([tool.setuptools.package-dir]).
pyproject.toml cannot add a mapped package to the ones `packages.find` discovers, so the list is made
here: setuptools' own discovery, plus the two mapped packages.
"""

from setuptools import find_namespace_packages, setup

setup(packages=[*find_namespace_packages(include=["concerns*", "models*", "statemachines*", "flows*"]),
                "concerns.templates", "concerns.examples"])
