"""The built wheel works on its own: built with `pip wheel`, installed with its dependencies in a fresh
virtualenv, and run from an empty folder, where nothing of the checkout can be found. Every file the product
reads (letters, mails, the desk's pages and style sheet, policies, migrations, the demo's example) must come
from the installed package.

Slow (a virtualenv and an install from the pip cache or the registry, and a Prefect run): deselect with
-m 'not wheel'. The time of each step is in every assertion message.
"""

from __future__ import annotations

import email
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[1]
# What a build must not copy from the checkout: virtualenvs, earlier builds (setuptools would put a stale
# build/lib into the wheel), caches and what the demo and a local run leave behind.
NOT_SOURCE = {".git", ".venv", "build", "dist", "demo", "outbox", "letters", "reports", ".prefect", ".pytest_cache",
              ".ruff_cache", ".hypothesis", ".import_linter_cache"}
SHIPPED = ["concerns/templates/letters/warning_notice.toml", "concerns/templates/letters/warning_notice.html.j2",
           "concerns/templates/letters/print.css", "concerns/templates/mail/letter.html.j2",
           "concerns/templates/mail/report.print.css", "concerns/templates/web/login.html",
           "concerns/templates/web/desk.css", "concerns/policies/default.toml", "concerns/store/migrations/env.py",
           "concerns/store/migrations/script.py.mako", "concerns/examples/warning-notice-990402.toml"]


class Steps:
    """Runs each step, keeping how long it took, for the assertion messages."""

    def __init__(self, cwd: Path, env: dict[str, str]):
        self.cwd, self.env, self.times = cwd, env, []

    def timings(self) -> str:
        return "step timings: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.times)

    def run(self, name: str, *command: str | Path, timeout: float = 300) -> str:
        started = time.perf_counter()
        done = subprocess.run([str(c) for c in command], cwd=self.cwd, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        self.times.append((name, time.perf_counter() - started))
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{name} failed (exit {done.returncode}):\n{output[-3000:]}\n{self.timings()}"
        return output


def _source_copy(target: Path) -> Path:
    def ignore(folder: str, names: list[str]) -> set[str]:
        top = Path(folder) == ROOT
        return {n for n in names if (top and (n in NOT_SOURCE or n.startswith("concerns.db")))
                or n == "__pycache__" or n.endswith(".egg-info")}

    shutil.copytree(ROOT, target, ignore=ignore)
    return target


def _free_port() -> int:
    """A port the system says is free (above the desk's default 8000 as a rule), so the installed command is
    run with a port other than its default."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# What the test did and how long each step took, for the one line the CI log shows (tests/conftest.py).
SUMMARY: list[str] = []


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def test_the_wheel_installed_in_a_fresh_virtualenv_runs_from_an_empty_folder(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CONCERNS_", "PREFECT_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    venv = tmp_path / "venv"
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", CONCERNS_DB=f"sqlite:///{work / 'concerns.db'}",
               CONCERNS_OUTBOX=str(work / "outbox"), CONCERNS_LETTERS=str(work / "letters"),
               CONCERNS_REPORTS=str(work / "reports"), PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    steps = Steps(work, env)

    source = _source_copy(tmp_path / "source")
    steps.run("build", sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", source)
    wheels = list((tmp_path / "dist").glob("concerns-*.whl"))
    assert len(wheels) == 1, f"{wheels}\n{steps.timings()}"
    inside = set(zipfile.ZipFile(wheels[0]).namelist())
    assert not [f for f in SHIPPED if f not in inside], f"not in the wheel: {[f for f in SHIPPED if f not in inside]}"

    # No pip inside the new virtualenv (ensurepip takes seconds): this pip installs into it.
    steps.run("virtualenv", sys.executable, "-m", "venv", "--without-pip", venv)
    python, concerns = venv / "bin" / "python", venv / "bin" / "concerns"
    steps.run("install", sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile", wheels[0],
              timeout=900)

    where = steps.run("where", python, "-c", "import concerns, concerns.templates; from concerns.domain import "
                      "resources; print(concerns.__file__); print(concerns.templates.__file__); "
                      "print(resources.EXAMPLES)").split()
    site = venv.resolve()
    assert all(Path(p).resolve().is_relative_to(site) for p in where), f"not from the wheel: {where}\n{steps.timings()}"
    examples = Path(where[2])

    said = steps.run("init --demo", concerns, "init", "--demo")
    assert "upgraded from empty" in said and "Loaded demo authority Demoshire" in said, f"{said}\n{steps.timings()}"

    said = steps.run("letter kinds", concerns, "letter", "kinds")
    assert "warning_notice" in said and "categorisation" in said and "compliance_end" in said, \
        f"{said}\n{steps.timings()}"

    said = steps.run("letter draft", concerns, "letter", "draft", "990402", "warning_notice", "--on", "2026-10-20",
                     "--details", examples / "warning-notice-990402.toml", "--send")
    assert "Drafted: " in said and "e-mail(s) queued" in said, f"{said}\n{steps.timings()}"
    letters = sorted((work / "letters").rglob("*.html"))
    assert len(letters) == 1, f"letter files: {letters}\n{steps.timings()}"
    letter = letters[0].read_text(encoding="utf-8")
    # The letter's template, the example's details and the law's wording, all from the installed package.
    assert "has not met quorately since April 2026" in letter and "Education and Inspections Act 2006" in letter, \
        f"{letter[:3000]}\n{steps.timings()}"

    said = steps.run("run deadline-check", concerns, "run", "deadline-check", "--as-of", "2026-11-23")
    assert "flow deadline-check finished" in said, f"{said}\n{steps.timings()}"
    # The run sent what was queued: the warning notice's mail (its template and the letter as a PDF printed
    # with the package's print.css) among them.
    mails = [email.message_from_bytes(p.read_bytes()) for p in sorted((work / "outbox").glob("*.eml"))]
    pdfs = [m["Subject"] for m in mails if any(part.get_content_type() == "application/pdf" for part in m.walk())]
    assert pdfs and all(m["Subject"] for m in mails), f"{said}\nmails: {len(mails)}, with a PDF: {pdfs}\n{steps.timings()}"

    port = _free_port()
    started = time.perf_counter()
    # In two processes, as a council serves it on a machine of two cores or more (`--workers`).
    web = subprocess.Popen([str(concerns), "web", "--port", str(port), "--workers", "2"], cwd=work, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        status, page = 0, ""
        while time.perf_counter() - started < 60 and web.poll() is None:
            try:
                status, page = _get(f"http://127.0.0.1:{port}/login")
                break
            except OSError:
                time.sleep(0.3)
        steps.times.append(("web /login", time.perf_counter() - started))
        if web.poll() is not None:
            pytest.fail(f"concerns web stopped (exit {web.returncode}):\n{web.communicate()[0]}\n{steps.timings()}")
        assert status == 200 and "Sign in" in page, f"GET /login: {status}\n{page[:2000]}\n{steps.timings()}"
        status, css = _get(f"http://127.0.0.1:{port}/desk.css")
        assert status == 200 and "{" in css, f"GET /desk.css: {status}\n{steps.timings()}"
        children = Path(f"/proc/{web.pid}/task/{web.pid}/children").read_text().split()
        workers = [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) == 2, f"desk processes under concerns web: {children}\n{steps.timings()}"
    finally:
        web.terminate()
        try:
            output, _ = web.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            web.kill()
            output, _ = web.communicate()
    assert web.returncode is not None, f"concerns web did not stop\n{output}\n{steps.timings()}"
    SUMMARY.append(f"wheel {wheels[0].name} installed in a fresh virtualenv and run from an empty folder: "
                   f"init --demo, letter kinds, letter draft --send, run deadline-check, web --port {port} --workers 2 "
                   f"(GET /login 200); {steps.timings()}")
