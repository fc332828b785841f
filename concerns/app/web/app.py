"""The officers' desk: plain server-rendered HTML over the same casework, views and drafting as the CLI.

Every page works without JavaScript. Every POST form carries an anti-forgery token; every change goes
through `concerns.casework.cases` or `concerns.notify.drafting` with the signed-in officer as the actor, in one
transaction that a refusal rolls back whole. An officer sees only their own authority's schools: any
other school is "not found".
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from concerns.app.web import accounts, desk, formdates, oidc
from concerns.app.web.letterform import (
    OLD_FORM_FIELD,
    YEARS,
    FormError,
    details_from_form,
    fields_for,
    hidden_fields,
    kinds_now,
    letter_date,
    prefill,
    roles_of,
    shown_values,
    table,
)
from concerns.casework import cases, views
from concerns.domain import resources
from concerns.domain.clock import FixedClock, ImplausibleDate, check_date
from concerns.domain.clock import today as system_today
from concerns.domain.formatting import ukdate
from concerns.domain.letterspecs import LETTER_KINDS
from concerns.domain.policy import names_of, policy_for, service_of
from concerns.domain.untrusted import URN, BadInput, parse_id, printable
from concerns.jobs.categorisation import decide_category
from concerns.notify import wording
from concerns.notify.directory import Directory
from concerns.notify.drafting import bind_to_case, check_letter, draft_letter, next_reference, queue_letter
from concerns.notify.letterdata import letter_authority, letter_content, letter_school
from concerns.output import templating
from concerns.store.db import session_scope
from models import FormSubmission, Inspection, Letter, LetterForm, Notification, Officer, School
from statemachines.case import CaseFile
from statemachines.pathways import EVENTS_NEEDING_UNTIL, PATHWAYS, allowed_events

TEMPLATES = resources.WEB
SESSION_COOKIE = "desk_session"
LOGIN_COOKIE = "desk_login"  # anti-forgery token of the sign-in form, before there is a session
MAX_BODY = 512 * 1024
EXPIRED = ("This form could not be accepted because its security token is missing or out of date. "
           "Nothing was changed: reload the page and try again.")

SECURITY_HEADERS = {
    # No scripts at all; styles from the desk's own sheet (and letters' own inline styles, in frames).
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Cache-Control": "no-store",
}


class NotFound(Exception):
    pass


@dataclass
class Settings:
    db_url: str | None = None
    today: Callable[[], date] = system_today
    # The desk's "today" is a set date (CONCERNS_TODAY: the demo's own "today"), not the calendar's.
    simulated: bool = False
    secure_cookies: bool = True
    # Name of a header the authority's single-sign-on proxy sets to the officer's e-mail address.
    trusted_header: str | None = None
    # Council sign-in over OpenID Connect (oidc.py), and whether local passwords are kept beside it.
    provider: oidc.Provider | None = None
    passwords: bool = True


@dataclass
class Ctx:
    request: Request
    session: Session
    settings: Settings
    form: dict[str, list[str]] = field(default_factory=dict)
    officer: Officer | None = None
    csrf: str = ""
    new_cookie: accounts.SignedIn | None = None

    def value(self, name: str) -> str:
        return (self.form.get(name) or [""])[0].strip()

    @property
    def today(self) -> date:
        return self.settings.today()

    @property
    def clock(self) -> FixedClock:
        """The desk's today as a clock, for the date windows (concerns.domain.clock.check_date)."""
        return FixedClock(datetime.combine(self.today, time(12)))


def _environment() -> Environment:
    # The views give dates as ISO 8601 text: the pages write them with `| isodate | ukdate`.
    return templating.environment(TEMPLATES, filters={"label": desk.label, "event_words": desk.event_words,
                                                      "state_words": desk.state_words,
                                                      "pathway_words": desk.pathway_words,
                                                      "kind_words": desk.kind_words,
                                                      "category_words": desk.category_words,
                                                      "actor_words": desk.actor_words,
                                                      "plain": desk.plain_message, "citation": wording.citation,
                                                      "plain_note": wording.plain_note},
                                  globals={"PATHWAYS": PATHWAYS, "sees_procedure": desk.may_see_procedure,
                                           "date_parts": desk.date_parts})


ENV = _environment()


def render(ctx: Ctx, template: str, status: int = 200, **values) -> HTMLResponse:
    html = ENV.get_template(template).render(officer=ctx.officer, csrf=ctx.csrf, path=ctx.request.url.path,
                                             today=ctx.today.isoformat(), simulated=ctx.settings.simulated,
                                             form_token=_form_token, **values)
    return HTMLResponse(html, status_code=status)


def _form_token() -> str:
    """A one-time token for one form as shown (`{{ form_token() }}` in a template): the same form
    submitted twice carries the same token, and the second submission changes nothing."""
    return secrets.token_urlsafe(24)


FORM_TOKEN = "form_token"


def _already_done(ctx: Ctx) -> Response | None:
    """If this form (its one-time token) was accepted before, where the first submission led; else None,
    and the token is claimed for this submission (in its transaction: a refusal rolls the claim back)."""
    token = ctx.value(FORM_TOKEN)
    if not token:
        return None  # a form from before the tokens, or a script: no replay to recognise
    if len(token) > 64 or not token.isascii():
        raise NotFound()
    done = ctx.session.get(FormSubmission, token)
    if done is not None:
        if done.officer_id != ctx.officer.id:
            raise NotFound()
        return RedirectResponse(done.result, status_code=303)
    ctx.session.add(FormSubmission(token=token, officer_id=ctx.officer.id, result=""))
    try:
        ctx.session.flush()  # a second submission racing this one waits here, then fails, and is redirected
    except IntegrityError:
        ctx.session.rollback()
        done = ctx.session.get(FormSubmission, token)
        return RedirectResponse(done.result if done is not None else ctx.request.url.path, status_code=303)
    return None


def _done(ctx: Ctx, response: Response) -> Response:
    """Remember where the form's first submission led, for a replay of it."""
    token = ctx.value(FORM_TOKEN)
    if token:
        row = ctx.session.get(FormSubmission, token)
        if row is not None:
            row.result = response.headers.get("location", "/week")[:500]
            ctx.session.add(row)
    return response


def same_token(expected: str, given: str) -> bool:
    """Constant-time comparison of an anti-forgery token; any text given (compare_digest refuses non-ASCII
    str, which would be a 500), compared as UTF-8 bytes."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogatepass"))


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- sign-in -----------------------------------------------------------------------------------------


def login_page(ctx: Ctx, error: str | None = None, email: str = "", status: int = 200) -> Response:
    token = ctx.request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    ctx.csrf = token
    provider = ctx.settings.provider
    response = render(ctx, "login.html", status=status, error=error, email=email,
                      next=_safe_next(ctx.request.query_params.get("next") or ctx.value("next")),
                      provider_name=provider.settings.provider_name if provider else None,
                      passwords=ctx.settings.passwords)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, secure=ctx.settings.secure_cookies, samesite="lax",
                        path="/login")
    return response


def _safe_next(target: str | None) -> str:
    # Only a path on this desk: never an open redirect to another site.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/week"


def login(ctx: Ctx) -> Response:
    if ctx.request.method == "GET":
        if ctx.officer is not None:
            return RedirectResponse("/week", status_code=303)
        return login_page(ctx)
    expected = ctx.request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not same_token(expected, ctx.value("csrf_token")):
        return login_page(ctx, EXPIRED, status=403)
    if not ctx.settings.passwords:
        return login_page(ctx, "This desk does not take passwords: sign in with your council's account.", status=403)
    email, password = ctx.value("email"), (ctx.form.get("password") or [""])[0]
    if not email or not password:
        return login_page(ctx, "Enter your e-mail address and your password.", email=email, status=400)
    try:
        signed = accounts.sign_in(ctx.session, email, password, client_of(ctx.request))
    except accounts.SignInRefused as exc:
        ctx.session.commit()  # the failed attempt counts towards the limit
        return login_page(ctx, str(exc), email=email, status=429 if str(exc) == accounts.TOO_MANY else 400)
    ctx.new_cookie = signed
    response = RedirectResponse(_safe_next(ctx.value("next")), status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def logout(ctx: Ctx) -> Response:
    if ctx.settings.provider is not None:
        return oidc_logout(ctx)
    accounts.end_session(ctx.session, ctx.request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- council sign-in over OpenID Connect (oidc.py) ------------------------------------------------------


def oidc_start(ctx: Ctx) -> Response:
    provider = ctx.settings.provider
    if provider is None:
        raise NotFound()
    try:
        browser, url = oidc.begin(ctx.session, provider, _safe_next(ctx.request.query_params.get("next")))
    except oidc.ProviderUnavailable as exc:
        oidc.log.warning("oidc sign-in not started: %s", exc)
        ctx.session.rollback()
        return render(ctx, "error.html", status=502, title="Sign-in unavailable",
                      message=f"{provider.settings.provider_name} cannot be reached just now. Try again in a few "
                              "minutes; if it goes on, tell your authority's IT service desk.")
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(oidc.COOKIE, browser, max_age=oidc.SIGN_IN_MINUTES * 60, httponly=True,
                        secure=ctx.settings.secure_cookies, samesite="lax", path=oidc.START_PATH)
    return response


def oidc_callback(ctx: Ctx) -> Response:
    provider = ctx.settings.provider
    if provider is None:
        raise NotFound()
    try:
        signed, next_path = oidc.finish(ctx.session, provider, ctx.request.cookies.get(oidc.COOKIE),
                                        dict(ctx.request.query_params))
    except oidc.SignInRefused as refused:
        ctx.session.commit()  # the sign-in under way is used up, whatever the reason
        response = render(ctx, "error.html", status=refused.status, title=refused.title, message=refused.message)
    else:
        accounts.end_session(ctx.session, ctx.request.cookies.get(SESSION_COOKIE))  # any earlier session here
        ctx.new_cookie = signed
        response = RedirectResponse(_safe_next(next_path), status_code=303)
    response.delete_cookie(oidc.COOKIE, path=oidc.START_PATH)
    return response


def oidc_logout(ctx: Ctx) -> Response:
    """End the desk session; if it came from the provider and the provider has an end-session endpoint, send
    the officer there too (a page that goes on by itself: a redirect after a form would break the pages'
    `form-action 'self'`)."""
    token = ctx.request.cookies.get(SESSION_COOKIE)
    id_token = oidc.id_token_for(ctx.session, token)
    leave = ctx.settings.provider.end_session_url(id_token) if id_token else None
    accounts.end_session(ctx.session, token)
    if leave is None:
        response = RedirectResponse("/login", status_code=303)
    else:
        ctx.officer = None
        response = render(ctx, "signed_out.html", provider_name=ctx.settings.provider.settings.provider_name,
                          end_session_url=leave)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- pages -------------------------------------------------------------------------------------------


def home(ctx: Ctx) -> Response:
    return RedirectResponse("/week", status_code=303)


def week(ctx: Ctx) -> Response:
    # ?all=SECTION shows every row of that section; any other value is ignored (the week as usual).
    section = ctx.request.query_params.get("all", "")
    show_all = section if section in desk.WEEK_SECTIONS else None
    return render(ctx, "week.html", week=desk.my_week(ctx.session, ctx.officer, ctx.today, show_all))


REGISTER_KEYS = ("pathway", "category", "la_category", "officer", "sort", "order", "size")


def _register_query(ctx: Ctx) -> dict[str, str]:
    q = ctx.request.query_params
    return {k: q.get(k, "") for k in REGISTER_KEYS}


def _register_refused(ctx: Ctx, refused: desk.RegisterRefused) -> Response:
    return render(ctx, "error.html", status=400, title="Not a page of the register", message=str(refused))


def register(ctx: Ctx) -> Response:
    query = _register_query(ctx)
    try:
        ask = desk.register_ask(ctx.request.query_params)
        shown = desk.register_page(ctx.session, ctx.officer, ctx.today, ask)
    except desk.RegisterRefused as refused:
        return _register_refused(ctx, refused)
    kept = {k: v for k, v in query.items() if v}

    def sort_link(key: str) -> str:
        order = "desc" if ask.sort == key and not ask.descending else "asc"
        return "/register?" + urlencode({**{k: v for k, v in kept.items() if k not in ("sort", "order")},
                                         "sort": key, "order": order})

    def page_link(page: int) -> str:
        return "/register?" + urlencode({**kept, "page": page})

    csv_link = "/register.csv?" + urlencode({k: v for k, v in kept.items() if k != "size"})
    return render(ctx, "register.html", rows=shown["rows"], choices=shown["choices"], query=query, ask=ask,
                  shown=shown, sort_link=sort_link, page_link=page_link,
                  page_numbers=desk.page_numbers(shown["page"], shown["pages"]), csv_link=csv_link)


def register_csv(ctx: Ctx) -> Response:
    try:
        ask = desk.register_ask(ctx.request.query_params)
    except desk.RegisterRefused as refused:
        return _register_refused(ctx, refused)
    name = f"register-{ctx.officer.la.lower().replace(' ', '-')}-{ctx.today.isoformat()}.csv"
    # Streamed: the rows are read and written a chunk at a time, never held whole.
    return StreamingResponse(desk.register_csv(ctx.settings.db_url, ctx.officer, ctx.today, ask),
                             media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _school(ctx: Ctx, urn: str) -> School:
    """The school, if it is in the officer's authority; any other (or unknown) URN is not found."""
    school = ctx.session.get(School, urn) if URN.fullmatch(urn) else None
    if school is None or service_of(school.la) != service_of(ctx.officer.la):
        raise NotFound()
    return school


def _latest_inspection(ctx: Ctx, urn: str) -> dict | None:
    row = ctx.session.exec(select(Inspection).where(Inspection.urn == urn, Inspection.published <= ctx.today)
                           .order_by(Inspection.published.desc(), Inspection.id.desc())).first()
    if row is None:
        return None
    return {"published": row.published.isoformat(), "inspected": row.inspected.isoformat() if row.inspected else None,
            "outcome": row.outcome, "level": row.level, "regime": row.regime}


def school_page(ctx: Ctx, urn: str, *, error: str | None = None, error_field: str = "", sent: dict | None = None,
                status: int = 200, notice: str | None = None, chosen: dict | None = None) -> Response:
    school = _school(ctx, urn)
    doc = views.case_view(ctx.session, school.urn, ctx.today)
    open_cases = [c for c in doc["cases"] if not c["closed"]]
    # A school without an open LA-raised case can have one opened: the machine says with which events.
    facts = cases.school_facts(school)
    opening = [] if any(c["origin"] == "la" for c in open_cases) else allowed_events(CaseFile(), facts)
    offered = {c["pathway"]: c["allowed_events"] for c in open_cases} | ({"new": opening} if opening else {})
    timeline = desk.timeline(ctx.session, school.urn, ctx.today)
    letters = ctx.session.exec(select(Letter).where(Letter.urn == school.urn)
                               .order_by(Letter.on.desc(), Letter.id.desc())).all()
    return render(ctx, "school.html", status=status, school=doc, open_cases=open_cases, opening=opening,
                  timeline=timeline, letters=[_letter_summary(ctx, x) for x in letters],
                  kinds=kinds_now(ctx.session, school), needs_until=EVENTS_NEEDING_UNTIL,
                  inspection=_latest_inspection(ctx, school.urn), error=error, error_field=error_field,
                  sent=sent or {}, notice=notice, request_done=ctx.request.query_params.get("done", ""),
                  chosen=_chosen_event(chosen or {}, offered),
                  letter_titles={k: s.title for k, s in LETTER_KINDS.items()})


def _chosen_event(query: dict, offered: dict[str, list[str]]) -> dict:
    """The event form to set from a link (`?event=...&case=...`, from My week): kept only when the case is one
    of the school's open cases (or "new") and the event one it offers now; anything else is ignored, never
    shown back."""
    case, event = query.get("case", ""), query.get("event", "")
    return {"case": case, "event": event} if event in offered.get(case, ()) else {}


def school(ctx: Ctx, urn: str) -> Response:
    q = ctx.request.query_params
    notice = {"recorded": "The event was recorded."}.get(q.get("done", ""))
    return school_page(ctx, urn, notice=notice, chosen={"case": q.get("case", ""), "event": q.get("event", "")})


def _typed_date(ctx: Ctx, sent: dict, name: str, what: str, required: bool) -> date | None:
    """The date in the form's three fields `name`_day, _month, _year (kept in `sent` to show again)."""
    sent[name + "_parts"] = formdates.parts_of(ctx.value, name)
    day, sent[name + "_parts"] = formdates.typed_date(sent[name + "_parts"], sent.get(name, ""), what, required)
    return day


def record_event(ctx: Ctx, urn: str) -> Response:
    school = _school(ctx, urn)
    sent = {k: ctx.value(k) for k in ("case", "event", "on", "until", "note")}
    sent["confidential"] = ctx.value("confidential") == "yes"
    case_key = sent["case"] or "new"

    def refuse(message: str, field_name: str) -> Response:
        ctx.session.rollback()
        return school_page(ctx, school.urn, error=message, error_field=f"{case_key}-{field_name}", sent=sent,
                           status=400)

    replay = _already_done(ctx)
    if replay is not None:
        return replay
    for name in ("on", "until"):  # what was typed, shown again if the form is refused
        typed = {p: ctx.value(f"{name}_{p}") for p in ("day", "month", "year")}
        if any(typed.values()):
            sent[name + "_parts"] = typed
    if not sent["event"]:
        return refuse("Choose the event to record.", "event")
    # Dates come as day, month and year (three fields, the GOV.UK pattern); one ISO field ("on") is still read.
    try:
        on = check_date(_typed_date(ctx, sent, "on", "the date it happened", required=True), "event",
                        "Date of the event:", ctx.clock)
    except desk.DateError as exc:
        return refuse(str(exc), "on")
    except ImplausibleDate as exc:
        return refuse(exc.plain, "on")
    try:
        until = _typed_date(ctx, sent, "until", "the end of the compliance period", required=False)
        if until is not None:
            until = check_date(until, "event", "End of the compliance period:", ctx.clock)
    except desk.DateError as exc:
        return refuse(str(exc), "until")
    except ImplausibleDate as exc:
        return refuse(exc.plain, "until")
    if on > ctx.today:
        return refuse(f"The date it happened, {ukdate(on)}, is after today ({ukdate(ctx.today)}): "
                      "record events once they happen.",
                      "on")
    pathway = sent["case"] if sent["case"] in PATHWAYS else None
    try:
        cases.record_event(ctx.session, school.urn, sent["event"], on=on, until=until, note=sent["note"],
                              confidential=sent["confidential"], actor=ctx.officer.email, pathway=pathway)
    except cases.Refused as exc:
        return refuse(str(exc), "event")
    return _done(ctx, RedirectResponse(f"/schools/{school.urn}?done=recorded#recorded", status_code=303))


# --- the authority's categories ----------------------------------------------------------------------


def categories_page(ctx: Ctx, *, error: str | None = None, error_urn: str = "", sent: dict | None = None,
                    status: int = 200, notice: str | None = None, notice_urn: str = "") -> Response:
    return render(ctx, "categories.html", status=status, cat=desk.categorisation(ctx.session, ctx.officer, ctx.today),
                  error=error, error_urn=error_urn, sent=sent or {"urn": "", "level": "", "reason": ""}, notice=notice,
                  notice_urn=notice_urn)


def categories(ctx: Ctx) -> Response:
    done = ctx.request.query_params.get("done", "")
    notice, notice_urn = None, ""
    if URN.fullmatch(done):
        school = ctx.session.get(School, done)
        if school is not None and school.la == ctx.officer.la:
            letter = {"written": "A letter to the headteacher and chair was written and queued for sending.",
                      "unchanged": "No letter was written: the level is the same as before."}.get(
                ctx.request.query_params.get("letter", ""),
                "No letter could be written (is a headteacher and a chair on record?): see the school's letters.")
            notice, notice_urn = f"The category of {school.name} was recorded. {letter}", school.urn
    return categories_page(ctx, notice=notice, notice_urn=notice_urn)


def set_category(ctx: Ctx, urn: str) -> Response:
    school = _school(ctx, urn)
    sent = {"urn": school.urn, "level": ctx.value("level"), "reason": ctx.value("reason")}

    def refuse(message: str) -> Response:
        ctx.session.rollback()
        return categories_page(ctx, error=message, error_urn=school.urn, sent=sent, status=400)

    replay = _already_done(ctx)
    if replay is not None:
        return replay
    if not desk.may_set_categories(ctx.officer):
        return refuse("Your role does not set the authority's categories; ask the lead adviser or the head of "
                      "service.")
    if not sent["level"]:
        return refuse(f"{school.name}: choose the category.")
    if not sent["reason"].strip():
        return refuse(f"{school.name}: give the reason for the category; it goes in the school's history.")
    try:
        decided = decide_category(ctx.session, school.urn, sent["level"], ctx.today, sent["reason"],
                                  ctx.officer.email)
    except cases.Refused as exc:
        return refuse(f"{school.name}: {exc}")
    letter = ("written" if decided["letter"] == "written"
              else "unchanged" if str(decided["letter"]).startswith("unchanged") else "not-written")
    return _done(ctx, RedirectResponse(f"/categories?done={school.urn}&letter={letter}#school-{school.urn}",
                                       status_code=303))


# --- the authority's procedure and the law ---------------------------------------------------------


def procedure(ctx: Ctx) -> Response:
    if not desk.may_see_procedure(ctx.officer):
        return render(ctx, "error.html", status=403, title="Not for your role",
                      message="This page is for the head of service and the director, who own the authority's "
                              "procedure.")
    return render(ctx, "procedure.html", proc=desk.procedure_and_the_law(ctx.officer, ctx.today))


# --- letters -----------------------------------------------------------------------------------------


def _letter_summary(ctx: Ctx, row: Letter) -> dict:
    mails = ctx.session.exec(select(Notification).where(Notification.key.like(f"letter:{row.key}:%"))
                             .order_by(Notification.id)).all()
    form = ctx.session.get(LetterForm, row.id)
    return {"id": row.id, "kind": row.kind, "title": row.title, "on": row.on.isoformat(), "path": row.path,
            "to": [p["name"] for p in row.addressees], "copies": [p["name"] for p in row.copies],
            "mails": [{"to": m.recipient_name or m.recipient_email, "email": m.recipient_email, "status": m.status,
                       "subject": m.subject} for m in mails],
            "can_send": not mails and any(p.get("email") for p in row.addressees + row.copies),
            "drafted_by": form.drafted_by if form else None}


# What the letter form carries that is not a detail: the anti-forgery token, the one-time token of the save
# form, the preview's buttons ("Change the details", "Add another", which draft or send).
NOT_DETAILS = ("csrf_token", FORM_TOKEN, "edit", "add", "step")


def _form_values(ctx: Ctx) -> tuple[dict[str, str], dict[str, list[str]]]:
    single = {k: v[0] for k, v in ctx.form.items() if v and k != "csrf_token"}
    return single, {k: v for k, v in ctx.form.items() if k != "csrf_token"}


def _roles(school: School) -> dict[str, str]:
    return roles_of(policy_for(school.la))


def letter_form_page(ctx: Ctx, school: School, kind: str, values: dict[str, str], keys: dict[str, list[str]],
                     error: FormError | None = None, status: int = 200) -> Response:
    fields = fields_for(kind, _roles(school))
    tables = {f.name: table(values, f.name, f.rows) for f in fields if f.kind == "rows"}
    return render(ctx, "letter_form.html", status=status, school=school, kind=kind, spec=LETTER_KINDS[kind],
                  fields=fields, tables=tables, values=shown_values(fields, values), keys=keys, error=error,
                  years=YEARS)


def _kind(ctx: Ctx, school: School, kind: str) -> str:
    if kind not in kinds_now(ctx.session, school):
        raise NotFound()
    return kind


def new_letter(ctx: Ctx, urn: str) -> Response:
    school = _school(ctx, urn)
    kind = _kind(ctx, school, ctx.request.query_params.get("kind", ""))
    doc = views.case_view(ctx.session, school.urn, ctx.today)
    values = {"on": ctx.today.isoformat(), **prefill(kind, doc, _latest_inspection(ctx, school.urn))}
    return letter_form_page(ctx, school, kind, values, {})


def _render_preview(ctx: Ctx, school: School, kind: str, on: date, details: dict):
    """The letter as draft_letter would write it, rendered without writing or recording anything."""
    from concerns.output.letters import render_letter

    directory = Directory(ctx.session, {school.la})
    details = bind_to_case(ctx.session, school, kind, details)
    letter = render_letter(kind, school=letter_school(school, directory),
                           authority=letter_authority(school.la, directory, policy_for(school.la)), on=on,
                           reference=next_reference(ctx.session, school.urn, kind, on), **details)
    return letter


def preview_letter(ctx: Ctx, urn: str) -> Response:
    school = _school(ctx, urn)
    kind = _kind(ctx, school, ctx.value("kind"))
    values, keys = _form_values(ctx)
    if values.get("edit") or values.get("add"):  # back to the form, or the form with one more row
        return letter_form_page(ctx, school, kind, values, keys)
    try:
        on = _letter_day(ctx, values)
        details = details_from_form(kind, values, keys, _roles(school), ctx.clock)
        check_letter(on, details, ctx.clock)
        letter = _render_preview(ctx, school, kind, on, details)
    except FormError as exc:
        return letter_form_page(ctx, school, kind, values, keys, exc, status=400)
    except ValueError as exc:
        return letter_form_page(ctx, school, kind, values, keys, FormError("", str(exc)), status=400)
    return render(ctx, "letter_preview.html", school=school, kind=kind, letter=letter,
                  hidden=hidden_fields(keys, lambda name: name in NOT_DETAILS),
                  can_send=any(p.email for p in [*letter.addressees, *letter.copies]))


def save_letter(ctx: Ctx, urn: str) -> Response:
    school = _school(ctx, urn)
    kind = _kind(ctx, school, ctx.value("kind"))
    values, keys = _form_values(ctx)
    action = values.pop("step", "draft")
    for transient in NOT_DETAILS:
        keys.pop(transient, None)
    replay = _already_done(ctx)
    if replay is not None:
        return replay
    try:
        on = _letter_day(ctx, values)
        details = details_from_form(kind, values, keys, _roles(school), ctx.clock)
        check_letter(on, details, ctx.clock)
        row, created, queued = draft_letter(ctx.session, school.urn, kind, on, details, send=action == "send",
                                            clock=ctx.clock)
    except FormError as exc:
        ctx.session.rollback()
        return letter_form_page(ctx, school, kind, values, keys, exc, status=400)
    except ValueError as exc:  # cases.Refused and the letter's own checks
        ctx.session.rollback()
        return letter_form_page(ctx, school, kind, values, keys, FormError("", str(exc)), status=400)
    if ctx.session.get(LetterForm, row.id) is None:
        ctx.session.add(LetterForm(letter_id=row.id, fields=keys, drafted_by=ctx.officer.email))
    done = "sent" if action == "send" else ("drafted" if created else "existing")
    return _done(ctx, RedirectResponse(f"/schools/{school.urn}/letters/{row.id}?done={done}&queued={queued}",
                                       status_code=303))


def _letter_day(ctx: Ctx, values: dict[str, str]) -> date:
    """The letter's date from the form, in the window a letter's date may fall in (said in plain words)."""
    on = letter_date(values)
    try:
        return check_date(on, "letter", "Date of the letter:", ctx.clock)
    except ImplausibleDate as exc:
        raise FormError("on", exc.plain) from None


def _letter(ctx: Ctx, school: School, letter_id: str) -> Letter:
    try:
        row = ctx.session.get(Letter, parse_id(letter_id, "letter"))
    except BadInput:
        raise NotFound() from None
    if row is None or row.urn != school.urn:
        raise NotFound()
    return row


def letter_page(ctx: Ctx, urn: str, letter_id: str) -> Response:
    school = _school(ctx, urn)
    row = _letter(ctx, school, letter_id)
    q = ctx.request.query_params
    notice = {"drafted": "The letter was drafted and recorded on the case.",
              "existing": "This letter had already been drafted with the same details: nothing new was written.",
              "sent": f"The letter was recorded and {q.get('queued', '0')} e-mail(s) were queued for sending."
              }.get(q.get("done", ""))
    try:
        content, problem = letter_content(row).decode("utf-8"), None
    except ValueError as exc:  # the file is missing or no longer what was drafted
        content, problem = "", str(exc)
    return render(ctx, "letter.html", school=school, letter=_letter_summary(ctx, row), notice=notice,
                  problem=problem, content=content)


def letter_file(ctx: Ctx, urn: str, letter_id: str) -> Response:
    school = _school(ctx, urn)
    row = _letter(ctx, school, letter_id)
    try:
        content = letter_content(row)
    except ValueError as exc:
        return render(ctx, "error.html", status=410, title="Letter file unavailable", message=str(exc))
    # Shown in a sandboxed frame; and on its own, still no scripts and no forms, whatever the file holds.
    return Response(content, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                                        "form-action 'none'; frame-ancestors 'self'"})


def send_letter(ctx: Ctx, urn: str, letter_id: str) -> Response:
    school = _school(ctx, urn)
    row = _letter(ctx, school, letter_id)
    form = ctx.session.get(LetterForm, row.id)
    if form is not None and OLD_FORM_FIELD in form.fields:
        # Its dates, lists and structured details were typed in the old form's way: read with today's fields
        # they would not give the details it was drafted with, and a different letter would go out.
        return render(ctx, "letter.html", status=400, school=school, letter=_letter_summary(ctx, row), notice=None,
                      problem="This letter was drafted before the letter forms had a field for each detail, so the "
                              "desk cannot send it exactly as it was drafted: draft it again on the desk, then send "
                              "it.", content="")
    replay = _already_done(ctx)
    if replay is not None:
        return replay
    try:
        if form is None:  # drafted on the command line: sent as it was drafted, to whom it was drafted for
            queued = queue_letter(ctx.session, row, school)
        else:
            fields = form.fields
            values = {k: v[0] for k, v in fields.items() if v}
            details = details_from_form(row.kind, values, fields, _roles(school))
            _, _, queued = draft_letter(ctx.session, school.urn, row.kind, row.on, details, send=True,
                                        clock=ctx.clock)
    except ValueError as exc:
        ctx.session.rollback()
        return render(ctx, "letter.html", status=400, school=school, letter=_letter_summary(ctx, row),
                      notice=None, problem=str(exc), content="")
    return _done(ctx, RedirectResponse(f"/schools/{school.urn}/letters/{row.id}?done=sent&queued={queued}",
                                       status_code=303))


def letters(ctx: Ctx) -> Response:
    rows = ctx.session.exec(select(Letter, School).join(School, School.urn == Letter.urn)
                            .where(School.la.in_(names_of(ctx.officer.la)))
                            .order_by(Letter.on.desc(), Letter.id.desc()).limit(200)).all()
    return render(ctx, "letters.html", letters=[(_letter_summary(ctx, row), school) for row, school in rows])


def stylesheet(request: Request) -> Response:
    return FileResponse(TEMPLATES / "desk.css", media_type="text/css", headers={"Cache-Control": "max-age=3600"})


# --- plumbing ----------------------------------------------------------------------------------------


def _signed_in(ctx: Ctx) -> None:
    found = accounts.session_for(ctx.session, ctx.request.cookies.get(SESSION_COOKIE))
    if ctx.settings.trusted_header:
        # Signed in by the authority's single-sign-on proxy, which sets this header (and strips it from
        # anything a browser sends). Only a registered, active officer is let in, and the proxy's word
        # wins over an older session cookie for someone else.
        email = accounts.normalise_email(ctx.request.headers.get(ctx.settings.trusted_header, ""))
        if email and (found is None or found[0].email != email):
            officer = accounts.officer_by_email(ctx.session, email)
            if officer is None:
                return
            # The proxy's header signs in every request: a client that keeps no cookie (a script, a
            # browser in private mode) reuses the officer's live session rather than writing a new row
            # each time. Only when there is none is one started, and its cookie set.
            live = accounts.live_session(ctx.session, officer)
            if live is not None:
                ctx.officer, ctx.csrf = officer, live.csrf_token
                return
            signed = accounts.start_session(ctx.session, officer)
            ctx.new_cookie = signed
            ctx.officer, ctx.csrf = officer, signed.csrf_token
            return
    if found is not None:
        ctx.officer, ctx.csrf = found[0], found[1].csrf_token


# Pages that only read: their GET opens a read-only unit of work, which on SQLite begins deferred and so
# neither waits for a writer (an import, another officer's change) nor makes the other pages wait for it
# (every unit of work that may write begins IMMEDIATE, taking the one write lock: concerns.store.db).
# Behind a single-sign-on header a GET may start a session (a write), so there every page keeps the lock.
READS_ONLY = (week, register, register_csv, school)


def _handle(settings: Settings, handler, request: Request, form: dict, params: dict, public: bool) -> Response:
    writes = not (request.method == "GET" and handler in READS_ONLY and not settings.trusted_header)
    with session_scope(settings.db_url, writes=writes) as session:
        ctx = Ctx(request=request, session=session, settings=settings, form=form)
        _signed_in(ctx)
        if ctx.officer is None and not public:
            if request.method == "GET":
                return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)
            return render(ctx, "error.html", status=401, title="Sign in again",
                          message="You are not signed in (or your session has ended). Nothing was changed.")
        if request.method == "POST" and not public and not same_token(ctx.csrf, ctx.value("csrf_token")):
            session.rollback()
            return render(ctx, "error.html", status=403, title="Form not accepted", message=EXPIRED)
        try:
            response = handler(ctx, **params)
        except NotFound:
            session.rollback()
            return render(ctx, "error.html", status=404, title="Page not found",
                          message="There is no such page or school on your authority's desk.")
        if ctx.new_cookie is not None:
            response.set_cookie(SESSION_COOKIE, ctx.new_cookie.token, max_age=accounts.SESSION_HOURS * 3600,
                                httponly=True, secure=settings.secure_cookies, samesite="lax", path="/")
        return response


def _endpoint(settings: Settings, handler, public: bool = False):
    async def endpoint(request: Request) -> Response:
        form: dict[str, list[str]] = {}
        if request.method == "POST":
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY:
                    return error_page(413)
            try:
                form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=500)
            except (UnicodeDecodeError, ValueError):
                return error_page(400)
        return await run_in_threadpool(_handle, settings, handler, request, form, dict(request.path_params), public)
    return endpoint


# --- every response: the security headers; every error: a plain page -----------------------------------

ERRORS = {
    400: ("Form not readable", "The form could not be read. Nothing was changed: reload the page and try again."),
    404: ("Page not found", "There is no such page or school on your authority's desk."),
    405: ("Not allowed", "That page cannot be used that way. Nothing was changed."),
    413: ("Too much data", "The form sent more than the desk accepts. Nothing was changed."),
    500: ("Something went wrong", "The desk could not finish this request, and nothing was changed by it. "
                                  "Try again; if it happens again, tell the desk's administrator the time."),
}


def error_page(status: int) -> HTMLResponse:
    """The plain page for an error: a title and one sentence, never a traceback or an internal code."""
    title, message = ERRORS.get(status, ("Not possible", "The desk cannot do that. Nothing was changed."))
    # No "today" line: an error page is drawn without the request's settings (the demo's own date).
    html = ENV.get_template("error.html").render(officer=None, csrf="", path="", title=title, message=message,
                                                 form_token=_form_token)
    return HTMLResponse(html, status_code=status)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return error_page(exc.status_code)


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_page(500)


class SecurityHeaders:
    """ASGI middleware: the security headers on every response the desk sends (pages, errors, the style
    sheet, the icon), where the endpoint has not set its own (a letter file's stricter policy)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for key, value in SECURITY_HEADERS.items():
                    if key.lower().encode("latin-1") not in present:
                        headers.append((key.lower().encode("latin-1"), value.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(db_url: str | None = None, *, today: Callable[[], date] | None = None,
               secure_cookies: bool | None = None, trusted_header: str | None = None,
               oidc_settings: oidc.OidcSettings | None = None, passwords: bool | None = None) -> Starlette:
    if secure_cookies is None:
        secure_cookies = os.environ.get("CONCERNS_WEB_INSECURE_COOKIES", "") not in ("1", "true", "yes")
    if today is None:
        fixed = desk_today_from_env()
        if fixed is not None:
            today = lambda: fixed  # noqa: E731
    # A set today (the demo's, a test's) is said on every page, so nobody takes it for the calendar's.
    settings = Settings(db_url=db_url, today=today or system_today, simulated=today is not None,
                        secure_cookies=secure_cookies,
                        trusted_header=trusted_header or os.environ.get("CONCERNS_WEB_TRUSTED_HEADER") or None)
    _council_sign_in(settings, oidc_settings, passwords)

    def r(path: str, handler, methods=("GET",), public: bool = False) -> Route:
        return Route(path, _endpoint(settings, handler, public), methods=list(methods))

    routes = [
        r("/login", login, ("GET", "POST"), public=True),
        r("/logout", logout, ("POST",)),
        r(oidc.START_PATH, oidc_start, public=True),
        r(oidc.CALLBACK_PATH, oidc_callback, public=True),
        r("/", home),
        r("/week", week),
        r("/register", register),
        r("/register.csv", register_csv),
        r("/letters", letters),
        r("/categories", categories),
        r("/categories/{urn}", set_category, ("POST",)),
        r("/procedure", procedure),
        r("/schools/{urn}", school),
        r("/schools/{urn}/events", record_event, ("POST",)),
        r("/schools/{urn}/letters/new", new_letter),
        r("/schools/{urn}/letters/preview", preview_letter, ("POST",)),
        r("/schools/{urn}/letters", save_letter, ("POST",)),
        r("/schools/{urn}/letters/{letter_id}", letter_page),
        r("/schools/{urn}/letters/{letter_id}/file", letter_file),
        r("/schools/{urn}/letters/{letter_id}/send", send_letter, ("POST",)),
        Route("/desk.css", stylesheet),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
    ]
    return DeskApp(routes=routes, exception_handlers={HTTPException: _http_error, Exception: _server_error})


class DeskApp(Starlette):
    """Starlette with SecurityHeaders around its whole stack: outside ServerErrorMiddleware (which
    Starlette always puts outermost), so that a 500 carries the headers as every other response does."""

    def build_middleware_stack(self):
        return SecurityHeaders(super().build_middleware_stack())


TODAY_SETTING = "CONCERNS_TODAY"


def desk_today_from_env() -> date | None:
    """The desk's set "today" (CONCERNS_TODAY=2027-04-05), so that the desk and a simulated term (the demo)
    share one clock; unset, the desk's today is the calendar's. A value that is not a date is refused by name."""
    value = os.environ.get(TODAY_SETTING, "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{TODAY_SETTING}='{printable(value)}' is not a date: write it as year-month-day, "
                       "e.g. 2027-04-05") from None
    # A simulated term runs ahead of the calendar, but not by decades (2062 for 2026): the window of a date
    # inside a letter, as every other door checks its dates.
    return check_date(day, "detail", TODAY_SETTING)


def _council_sign_in(settings: Settings, given: oidc.OidcSettings | None, passwords: bool | None) -> None:
    """The provider from the environment (CONCERNS_OIDC_*) unless given; a bad setting is refused by name."""
    provider_settings = given or oidc.settings_from_env()
    settings.provider = oidc.Provider(provider_settings) if provider_settings else None
    settings.passwords = (oidc.passwords_kept(oidc_configured=settings.provider is not None)
                          if passwords is None else passwords)


def desk_from_environment() -> Starlette:
    """The desk as `concerns web --workers N` starts it in each of its processes: every setting from the
    environment (CONCERNS_DB and the desk's own), as the command checked them before starting them."""
    return create_app()
