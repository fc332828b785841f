"""`concerns web`: the officers' desk, served by uvicorn."""

from __future__ import annotations

import os

from concerns.app.cli.arguments import Needs, command, desk_workers, port
from concerns.app.cli.terminal import console


def add_web_command(sub) -> None:
    web = command(sub, "web", cmd_web, Needs.POLICIES,
                  help="the officers' desk: sign in at /login, a school at /schools/URN")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    web.add_argument("--workers", type=desk_workers, default=1,
                     help="processes answering requests, one per core to use (default 1)")


def cmd_web(args) -> None:
    import uvicorn

    from concerns.app.web.app import create_app

    # The app first: a refused setting (CONCERNS_TODAY, CONCERNS_OIDC_*) is the command's one line, with no
    # address printed above it as if the desk had started.
    app = create_app(args.db)
    console.line(f"The officers' desk: http://{args.host}:{args.port}/login (Ctrl-C stops it)")
    # Behind the authority's reverse proxy, FORWARDED_ALLOW_IPS names it, so that the sign-in limit per
    # client counts browsers and not the proxy (uvicorn trusts X-Forwarded-For from 127.0.0.1 only by default).
    if args.workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False)
        return
    # Several processes on one port (uvicorn's own supervisor): each builds the same app from the same
    # environment (desk_from_environment), so the database URL is handed over there, never on a command line.
    if args.db:
        os.environ["CONCERNS_DB"] = args.db
    uvicorn.run("concerns.app.web.app:desk_from_environment", factory=True, workers=args.workers,
                host=args.host, port=args.port, log_level="warning", server_header=False)
