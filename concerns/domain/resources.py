"""Where every file the product ships lives: found through importlib.resources, never by walking up from a
module's own file, so the same names hold in the checkout, an editable install and an installed wheel.

The letters, mails and desk pages are `templates/` and the demo's input is `examples/`: both stay at the top
of the repository and ship as the packages `concerns.templates` and `concerns.examples` (pyproject.toml,
setup.py). The policies and the migrations are folders of the `concerns` package itself.

A loader that needs a real folder (Jinja's FileSystemLoader, Alembic's script_location) gets one: for a
package on the file system `importlib.resources.as_file` gives the folder itself; for one that is not (a
zip), Python 3.12 and later copy it to a temporary folder kept until the process ends.

Pure domain: the standard library only.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path

_KEPT = ExitStack()
atexit.register(_KEPT.close)


def _folder(package: str, *names: str) -> Path:
    resource = files(package)
    for name in names:
        resource = resource / name
    return _KEPT.enter_context(as_file(resource))


# templates/: each letter's <kind>.toml and <kind>.html.j2 in letters/ (their templates are named
# "letters/<kind>.html.j2", so the letters' loader starts here), the mails in mail/, the desk in web/.
TEMPLATES = _folder("concerns.templates")
LETTERS = TEMPLATES / "letters"
MAIL = TEMPLATES / "mail"
WEB = TEMPLATES / "web"
# The print rules WeasyPrint adds to a letter's and to the termly report's own HTML.
LETTER_PRINT_CSS = LETTERS / "print.css"
REPORT_PRINT_CSS = MAIL / "report.print.css"

# The policies the product ships (an authority's own are in $CONCERNS_POLICY_DIR).
POLICIES = _folder("concerns", "policies")
# Alembic's script folder: env.py, script.py.mako and versions/.
MIGRATIONS = _folder("concerns", "store", "migrations")
# The demo's input (`concerns demo term` drafts its letters from these details).
EXAMPLES = _folder("concerns.examples")

__all__ = ["EXAMPLES", "LETTERS", "LETTER_PRINT_CSS", "MAIL", "MIGRATIONS", "POLICIES", "REPORT_PRINT_CSS",
           "TEMPLATES", "WEB"]
