"""The product's templates, shipped as the package concerns.templates (pyproject.toml, setup.py).

Data only: letters/ (each letter's .toml and .html.j2, and print.css), mail/ and web/ (the officers'
desk). concerns/domain/resources.py names them; this file makes the folder a regular package, which
setuptools' editable install can map to its place here (a namespace package mapped this way is not found).
"""
