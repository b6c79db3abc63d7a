"""``jobwerk temu``: run the TEMU sandbox or a replica JTL database for trying the module out, and
replay a finished sync from its archived TEMU exchanges."""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from jobwerk.sdk import Runtime

app = typer.Typer(
    name="temu",
    help="TEMU module tools: sandbox, JTL replica and its REST API, replays.",
    no_args_is_help=True,
)


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8765,
    orders: Annotated[int, typer.Option(help="Seeded orders")] = 200,
    skus: Annotated[int, typer.Option(help="Seeded SKUs")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the generated shop")] = 1,
    amount_scope: Annotated[
        bool, typer.Option(help="Grant bg.order.amount.query to the default token")
    ] = False,
    withhold_scope: Annotated[
        list[str] | None, typer.Option(help="API the default token lacks (repeatable)")
    ] = None,
    webhook_url: Annotated[
        str | None,
        typer.Option(
            help="Push TEMU's order events here, e.g. http://127.0.0.1:8000/api/temu/webhook"
        ),
    ] = None,
) -> None:
    """Serve a TEMU sandbox shop (credentials: sandbox-app-key / -secret / -access-token)."""
    from jobwerk.modules.temu.sandbox import serve_sandbox

    typer.echo(
        f"TEMU sandbox on http://{host}:{port} (router URL: http://{host}:{port}/openapi/router)"
    )
    serve_sandbox(
        host, port, seed=seed, orders=orders, skus=skus, auto_advance=True,
        amount_scope=amount_scope, withheld_scopes=set(withhold_scope or ()),
        webhook_url=webhook_url,
    )  # fmt: skip


@app.command()
def replica(
    path: Annotated[Path, typer.Argument(help="SQLite file to create (replaced if it exists)")],
    articles: Annotated[int, typer.Option(help="Articles to create")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the sandbox shop to match")] = 1,
) -> None:
    """Create a replica eazybusiness database whose articles match the sandbox's SKUs."""
    from jobwerk.modules.temu.demo import create_matching_replica
    from jobwerk.modules.temu.sandbox import TemuSandbox

    shop = TemuSandbox(seed=seed, orders=0, skus=articles, rate_limit=None)
    url = create_matching_replica(path, shop)
    typer.echo(f"JTL replica: {url}")


@app.command("wawi-api")
def wawi_api(
    path: Annotated[Path, typer.Argument(help="A replica made by `jobwerk temu replica`")],
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 5883,
    key: Annotated[str, typer.Option(help="API key clients send as 'Wawi <key>'")] = (
        "sandbox-wawi-key"
    ),
) -> None:
    """Serve the JTL-Wawi REST API over a replica (for the `rest` JTL backend)."""
    import uvicorn

    from jobwerk.modules.temu.jtl_sandbox import JtlRestSandbox

    if not path.is_file():
        raise typer.BadParameter(f"{path} does not exist; create it with `jobwerk temu replica`")
    wawi = JtlRestSandbox(f"sqlite:///{path.resolve()}", api_key=key)
    typer.echo(f"JTL-Wawi REST API on http://{host}:{port}{wawi.prefix} (key: {key})")
    uvicorn.run(wawi.app(), host=host, port=port, log_level="warning")


@app.command()
def replay(
    run_id: Annotated[str, typer.Argument(help="A finished TEMU sync (or a unique id prefix)")],
    jtl_url: Annotated[
        str | None,
        typer.Option(help="JTL-Wawi database to read instead of the instance's (SQLAlchemy URL)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON")] = False,
) -> None:
    """Replay a finished TEMU sync from the TEMU exchanges it archived, without TEMU, as a dry
    run: what the current code would write (exit status 1 when the replay fails)."""
    from pydantic import ValidationError

    from jobwerk.sdk import SUCCEEDED, AppError

    try:
        outcome = asyncio.run(_replay(run_id, jtl_url))
    except ValidationError as exc:
        typer.echo(f"Invalid settings: {exc.errors(include_url=False)[0]['msg']}", err=True)
        raise typer.Exit(2) from None
    except AppError as exc:
        typer.echo(f"Error: {exc.message}", err=True)
        refused = exc.status in (404, 409, 422)  # unknown, unfinished, or not replayable
        raise typer.Exit(2 if refused else 1) from None
    if as_json:
        typer.echo(json.dumps(outcome, indent=2, ensure_ascii=False, default=str))
    else:
        _print_replay(outcome)
    if outcome["status"] not in SUCCEEDED:
        raise typer.Exit(1)


async def _replay(run_id: str, jtl_url: str | None) -> dict[str, Any]:
    """Queue the replay and execute it in this process."""
    from jobwerk.config import load_settings
    from jobwerk.logging import configure_logging
    from jobwerk.modules.registry import register_module
    from jobwerk.modules.temu import module
    from jobwerk.modules.temu.workflows._replay import start_replay
    from jobwerk.sdk import Runtime

    settings = load_settings()
    configure_logging("WARNING", settings.log.format)
    runtime = Runtime(settings)
    register_module(runtime, module.name, module)
    await runtime.start(executor=False, scheduler=False)
    try:
        async with runtime.transaction() as session:
            run = await start_replay(
                session, runtime.workflows, settings.data_dir, runtime.box, run_id,
                jtl_url=jtl_url, trigger="cli", started_by=f"cli:{getpass.getuser()}",
            )  # fmt: skip
        await runtime.executor.start()
        try:
            runtime.executor.submit(run.id)
            return await _finished(runtime, run.id)
        finally:
            await runtime.executor.stop()
    finally:
        await runtime.stop()


async def _finished(runtime: Runtime, run_id: str) -> dict[str, Any]:
    from jobwerk.core import run_service
    from jobwerk.core.context import run_export_dir
    from jobwerk.sdk import RunStatus

    while True:
        async with runtime.db.read() as session:
            run = await run_service.get_run(session, run_id)
        if RunStatus(run.status).finished:
            break
        await asyncio.sleep(0.2)
    folder = run_export_dir(runtime.settings.data_dir, run.id)
    result = run.result or {}
    return {
        "run_id": run.id,
        "replay_of": run.params.get("replay_of"),
        "workflow": run.workflow,
        "status": run.status,
        "error": run.error,
        "result": result,
        "exports": [str(folder / e["name"]) for e in result.get("exports", [])],
    }


def _print_replay(outcome: dict[str, Any]) -> None:
    result = outcome["result"]
    summary = result.get("dry_run", {})
    typer.echo(
        f"replay {outcome['run_id']} of run {outcome['replay_of']} "
        f"({outcome['workflow']}): {outcome['status']}"
    )
    if outcome["error"]:
        typer.echo(f"error: {outcome['error']}")
    typer.echo(
        f"would write: {summary.get('jtl_orders', 0)} JTL orders, "
        f"{summary.get('jtl_cancellations', 0)} JTL cancellations, "
        f"{summary.get('stock_edits', 0)} TEMU stock edits, "
        f"{summary.get('tracking_calls', 0)} TEMU shipment confirmations"
    )
    for order in result.get("preview_jtl_orders", []):
        typer.echo(f"  JTL order {order['order']} ({order['format']})")
    for edit in result.get("preview_stock_edits", []):
        typer.echo(
            f"  stock of SKU {edit['sku']} ({edit['sku_id']}): {edit['old']} → {edit['new']}"
        )
    for call in result.get("preview_tracking_calls", []):
        typer.echo(f"  shipment of order {call['order']}: {call['tracking_numbers']}")
    for warning in result.get("warnings", []):
        typer.echo(f"warning: {warning}")
    for path in outcome["exports"]:
        typer.echo(f"export: {path}")


# ``jobwerk temu-sandbox --port …``: the sandbox as a top-level command too.
sandbox_command = typer.Typer(
    name="temu-sandbox", invoke_without_command=True, help="Serve a TEMU sandbox shop."
)
sandbox_command.callback()(sandbox)
