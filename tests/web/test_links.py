"""Links for mails: pure, and only with the desk's address configured."""

from concerns.domain.desklinks import school_link


def test_school_link_needs_the_desks_address(monkeypatch):
    monkeypatch.delenv("CONCERNS_WEB_URL", raising=False)
    assert school_link("990301") is None
    monkeypatch.setenv("CONCERNS_WEB_URL", "https://concerns.example.gov.uk/")
    assert school_link("990301") == "https://concerns.example.gov.uk/schools/990301"
    assert school_link(" 1234567 ") == "https://concerns.example.gov.uk/schools/1234567"
    assert school_link("../admin") is None
    monkeypatch.setenv("CONCERNS_WEB_URL", "javascript:alert(1)")
    assert school_link("990301") is None


def test_links_module_imports_nothing_from_the_web_stack():
    import subprocess
    import sys

    code = "import sys, concerns.domain.desklinks; print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette','uvicorn','fastapi','jinja2')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
