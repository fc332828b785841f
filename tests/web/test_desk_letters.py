"""The desk's letter form for letters bound to the case: the compliance period is the case's, never typed."""

from __future__ import annotations

import re

from tests.conftest import table_dump
from tests.web.conftest import error_summary

PAGE = "/schools/100002/letters/new?kind=warning_notice"
NOTICE = {"kind": "warning_notice", "on": "2026-11-16", "grounds": "management_breakdown",
          "matters": "The governing body has not met.", "actions_required-0-text": "Appoint a chair of governors",
          "minded_to": "s65"}


def test_the_warning_notice_form_takes_the_compliance_period_from_the_case(desk, cli):
    for event, extra in (("confirm_concern", ()), ("warning_notice", ("--until", "2026-12-18"))):
        cli.ok("event", "100002", event, "--on", "2026-11-09" if event == "confirm_concern" else "2026-11-16", *extra)
    form = desk.client.get(PAGE)
    assert form.status_code == 200 and 'name="compliance_end"' not in form.text
    # The case's date of the notice, filled in as Day, Month and Year.
    for part, value in (("day", "16"), ("month", "11"), ("year", "2026")):
        assert re.search(rf'name="given_on_{part}"[^>]*value="{value}"', form.text)
    preview = desk.post_form(PAGE, "/schools/100002/letters/preview", NOTICE)
    assert preview.status_code == 200, error_summary(preview.text)
    assert "Friday 18 December 2026" in preview.text
    before = table_dump(desk.url)
    refused = desk.post_form(PAGE, "/schools/100002/letters/preview", {**NOTICE, "given_on": "2026-11-17"})
    assert refused.status_code == 400
    assert "given on 17 November 2026 does not match the case" in error_summary(refused.text)
    assert table_dump(desk.url) == before
