"""Example input files, shipped as the package concerns.examples (pyproject.toml, setup.py): the demo
drafts its letters from them, installed or not (concerns/domain/resources.py names them)."""
