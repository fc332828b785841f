"""`concerns web`: the officers' desk, served by uvicorn."""

from __future__ import annotations

from concerns.app.cli.arguments import Needs, command, port
from concerns.app.cli.terminal import console


def add_web_command(sub) -> None:
    web = command(sub, "web", cmd_web, Needs.POLICIES,
                  help="the officers' desk: sign in at /login, a school at /schools/URN")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=port, default=8000, help="port (default 8000)")


def cmd_web(args) -> None:
    import uvicorn

    from concerns.app.web.app import create_app

    # The app first: a refused setting (CONCERNS_TODAY, CONCERNS_OIDC_*) is the command's one line, with no
    # address printed above it as if the desk had started.
    app = create_app(args.db)
    console.line(f"The officers' desk: http://{args.host}:{args.port}/login (Ctrl-C stops it)")
    # Behind the authority's reverse proxy, FORWARDED_ALLOW_IPS names it, so that the sign-in limit per
    # client counts browsers and not the proxy (uvicorn trusts X-Forwarded-For from 127.0.0.1 only by default).
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False)
