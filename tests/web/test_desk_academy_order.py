"""The desk says whether the Secretary of State must or may make an academy order, as the law stands today
(Academies Act 2010 s4, as amended by the Children's Wellbeing and Schools Act 2026 s58, saved by s58(9))."""

from __future__ import annotations

from datetime import date

from tests.web.conftest import LA, Desk


def test_desk_academy_order_power_after_29_june_2026(desk):
    page = desk.client.get("/schools/100001")
    assert page.status_code == 200
    assert "may make one (a power)" in page.text and "s4(1)(b)" in page.text
    assert "academy_order/" not in page.text  # no rule ids for officers
    assert "academy order: power" in desk.client.get("/register").text


def test_desk_academy_order_duty_saved_for_an_order_made_before_29_june_2026(authority, cli):
    cli.ok("school", "add", "100003", "--name", "Elm Primary", "--la", LA, "--type", "Community school")
    cli.ok("inspection", "add", "100003", "--published", "2026-06-10", "--outcome", "special_measures")
    cli.ok("event", "100003", "academy_order_made", "--on", "2026-06-20")
    desk = Desk(authority, today=date(2026, 12, 6))
    assert desk.sign_in().status_code == 303
    page = desk.client.get("/schools/100003").text
    assert "must make one (a duty)" in page and "s58(9)" in page
    assert "2026-06-20" not in page  # dates as officers read them
