"""``jobwerk temu``: run the TEMU sandbox or a replica JTL database for trying the module out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="temu",
    help="TEMU module tools: sandbox, JTL replica and its REST API.",
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
) -> None:
    """Serve a TEMU sandbox shop (credentials: sandbox-app-key / -secret / -access-token)."""
    from jobwerk.modules.temu.sandbox import serve_sandbox

    typer.echo(
        f"TEMU sandbox on http://{host}:{port} (router URL: http://{host}:{port}/openapi/router)"
    )
    serve_sandbox(
        host, port, seed=seed, orders=orders, skus=skus, auto_advance=True,
        amount_scope=amount_scope, withheld_scopes=set(withhold_scope or ()),
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


# ``jobwerk temu-sandbox --port …``: the sandbox as a top-level command too.
sandbox_command = typer.Typer(
    name="temu-sandbox", invoke_without_command=True, help="Serve a TEMU sandbox shop."
)
sandbox_command.callback()(sandbox)
