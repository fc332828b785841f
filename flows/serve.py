"""One-box route: serve every deployment from one long-running process (docs/decisions/0007-london-schedules-one-box.md).

    prefect server start                                  # in one terminal (or a service)
    PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.serve

No work pool and no worker: this process polls the server and runs each scheduled flow run in a
subprocess of its own. The deployments, schedules, parameters and concurrency limits are read from
the project's prefect.yaml, the same file `prefect deploy` uses for the worker route, so the two
routes cannot drift apart. Stop it with Ctrl-C; its deployments' schedules are paused until it is
started again (Prefect's `pause_on_shutdown`), so nothing piles up while it is down.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from flows import prefect_env_defaults


def project_folder() -> Path:
    """The folder holding prefect.yaml, where the deployments' runs start: $CONCERNS_HOME (prefect.yaml's pull
    step) when set, else the checkout these flows are in. prefect.yaml is the project's, not the package's: a
    wheel does not ship it, so installed from one, CONCERNS_HOME names the folder that holds it."""
    home = os.environ.get("CONCERNS_HOME")
    return Path(home) if home else Path(__file__).resolve().parents[1]


PROJECT_ROOT = project_folder()
DEFAULT_SPEC = PROJECT_ROOT / "prefect.yaml"


def load_spec(path: Path = DEFAULT_SPEC) -> list[dict[str, Any]]:
    """The deployments of prefect.yaml (YAML anchors resolved)."""
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    deployments = document.get("deployments") or []
    if not deployments:
        raise ValueError(f"{path}: no deployments")
    return deployments


def _schedule(spec: dict[str, Any]):
    from prefect.schedules import Cron, RRule

    common = {"timezone": spec.get("timezone"), "active": spec.get("active", True),
              "parameters": spec.get("parameters") or {}, "slug": spec.get("slug")}
    if "cron" in spec:
        return Cron(spec["cron"], day_or=spec.get("day_or", True), **common)
    if "rrule" in spec:
        return RRule(spec["rrule"], **common)
    raise ValueError(f"prefect.yaml: schedule {spec!r} has neither cron nor rrule")


def _concurrency(spec: Any):
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    if spec is None or isinstance(spec, int):
        return spec
    strategy = ConcurrencyLimitStrategy(spec.get("collision_strategy", "ENQUEUE"))
    return ConcurrencyLimitConfig(limit=spec["limit"], collision_strategy=strategy)


def _flow_for(entrypoint: str):
    # "flows/deadline_check.py:deadline_check_flow" -> flows.deadline_check.deadline_check_flow
    path, _, attribute = entrypoint.partition(":")
    module = path.removesuffix(".py").replace("/", ".")
    return getattr(importlib.import_module(module), attribute)


def build_deployments(path: Path = DEFAULT_SPEC) -> list:
    """RunnerDeployments equivalent to prefect.yaml's, for `serve`."""
    built = []
    for spec in load_spec(path):
        flow = _flow_for(spec["entrypoint"])
        built.append(flow.to_deployment(
            name=spec["name"],
            schedules=[_schedule(s) for s in spec.get("schedules") or []],
            parameters=spec.get("parameters") or {},
            description=spec.get("description"),
            tags=spec.get("tags"),
            concurrency_limit=_concurrency(spec.get("concurrency_limit")),
        ))
    return built


class RouteConflict(RuntimeError):
    """The server already has these deployments from the worker route (`prefect deploy`)."""


async def _prepare_server(names: list[str], replace: bool) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from flows.send_notifications import OUTBOX_TAG

    async with get_client() as client:
        # Serving over a deployment made by `prefect deploy` keeps its work pool and pull steps, and
        # every run then crashes loading the flow from storage "None" (measured). Pick one route:
        # refuse, or with --replace delete the worker-route deployments first (their run history
        # stays with the flows).
        pooled = []
        for name in names:
            try:
                existing = await client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            if existing.work_pool_name:
                pooled.append((name, existing))
        if pooled and not replace:
            listed = " ".join(f"'{name}'" for name, _ in pooled)
            raise RouteConflict(f"the server already has these deployments on work pool "
                                f"{pooled[0][1].work_pool_name!r} (the worker route): {listed}. Serve and a "
                                f"worker must not share deployments: stop the worker and run again with "
                                f"--replace, or delete them with `prefect deployment delete NAME`.")
        for _, existing in pooled:
            await client.delete_deployment(existing.id)
        # The tag limit that keeps two outbox senders from overlapping (flows/send_notifications.py).
        # Creating it is an upsert, so this is harmless on every start.
        await client.create_concurrency_limit(tag=OUTBOX_TAG, concurrency_limit=1)


def serve(path: Path = DEFAULT_SPEC, limit: int | None = None, replace: bool = False) -> None:
    """Register every deployment of prefect.yaml with the server and run their flow runs until stopped."""
    import asyncio

    from prefect import serve as prefect_serve

    deployments = build_deployments(path)
    asyncio.run(_prepare_server([d.full_name for d in deployments], replace))
    prefect_serve(*deployments, limit=limit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="the prefect.yaml to read")
    parser.add_argument("--limit", type=int, default=None, help="most flow runs at once (default: no limit)")
    parser.add_argument("--replace", action="store_true",
                        help="first delete same-named deployments made by `prefect deploy` (worker route)")
    args = parser.parse_args(argv)
    if not args.spec.is_file():
        print(f"flows.serve: no {args.spec}: give --spec, or set CONCERNS_HOME to the folder of prefect.yaml",
              file=sys.stderr)
        return 2
    if not os.environ.get("PREFECT_API_URL"):
        # Without a server Prefect would start a temporary one that dies with this process and runs
        # no schedules (docs/decisions/0002-prefect-ephemeral-start-up.md, docs/decisions/0007-london-schedules-one-box.md): refuse rather than look as if it were working.
        print("flows.serve: set PREFECT_API_URL to a running Prefect server, "
              "e.g. http://127.0.0.1:4200/api after `prefect server start`", file=sys.stderr)
        return 2
    prefect_env_defaults()  # before Prefect is imported: analytics off, PREFECT_HOME beside the project
    try:
        serve(args.spec, args.limit, args.replace)
    except RouteConflict as exc:
        print(f"flows.serve: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
