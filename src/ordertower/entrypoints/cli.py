"""The ``ordertower`` command line (Typer + Rich)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
from typing import Optional

import typer
from rich.console import Console

from ..config import Settings
from .cli_catalog import catalog_app
from .cli_order import order_app
from .cli_task import task_app

app = typer.Typer(help="ordertower: order management and orchestration (TMF622).",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(catalog_app, name="catalog")
app.add_typer(order_app, name="order")
app.add_typer(task_app, name="task")
console = Console(stderr=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _startup_problem(exc: Exception) -> None:
    from ..adapters.catalog_files import CatalogLoadError

    if isinstance(exc, CatalogLoadError):
        console.print("[red]The catalog is not valid:[/red]")
        for p in exc.problems:
            console.print(f"  {p}", markup=False, highlight=False)
    else:
        console.print(f"[red]Cannot start:[/red] {exc}", markup=True, highlight=False)
    raise typer.Exit(1)


def _bootstrap(settings: Settings, database: str | None, catalog: str | None):
    """Flags override the environment; a start-up problem is reported plainly (exit 1)."""
    from ..bootstrap import bootstrap

    if database:
        settings.database_url = database
    if catalog:
        settings.catalog_path = catalog
    try:
        return bootstrap(settings)
    except Exception as exc:
        _startup_problem(exc)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8080, help="Port to listen on."),
    database: Optional[str] = typer.Option(None, help="Database URL (sqlite:///file.db or "
                                           "postgresql://user@host:5432/name); default "
                                           "$ORDERTOWER_DATABASE_URL or sqlite:///ordertower.db."),
    catalog: Optional[str] = typer.Option(None, help="Catalog file or folder; default "
                                          "$ORDERTOWER_CATALOG or the reference catalog."),
    workers: int = typer.Option(1, min=0, help="In-process workers (0: API only)."),
    no_simulators: bool = typer.Option(False, "--no-simulators", help="Do not mount the simulators."),
    no_auth: bool = typer.Option(False, "--no-auth", help="No access control (loopback only)."),
    lease_seconds: float = typer.Option(30.0, help="Lease of a claimed item, renewed while it runs."),
    log_level: str = typer.Option("info", help="Server log level."),
) -> None:
    """Run the API, the console, the simulators and in-process workers."""
    import uvicorn

    from ..services.access import ensure_admin_key
    from .api.app import create_app

    if no_auth and not _is_loopback(host):
        console.print(f"[red]--no-auth serves only a loopback address; refusing to listen on {host}.[/red]")
        raise typer.Exit(2)
    settings = Settings(host=host, port=port, workers=workers, simulators=not no_simulators,
                        lease_seconds=lease_seconds)
    if no_auth:
        settings.auth = False
    container = _bootstrap(settings, database, catalog)
    if settings.auth:
        key = ensure_admin_key(container.store, settings.bootstrap_key)
        if key:
            console.print("[bold yellow]First start: your admin API key (shown once; keep it; "
                          "send it as 'Authorization: Bearer KEY'):[/bold yellow]")
            typer.echo(key, err=True)
    console.print(f"ordertower on http://{host}:{port}  database {settings.database_url}  "
                  f"catalog {container.catalog.version}  workers {workers}"
                  + ("  simulators on" if settings.simulators else ""), highlight=False)
    uvicorn.run(create_app(container), host=host, port=port, log_level=log_level)


@app.command()
def worker(
    database: Optional[str] = typer.Option(None, help="Database URL (as for serve)."),
    catalog: Optional[str] = typer.Option(None, help="Catalog file or folder."),
    simulators_url: Optional[str] = typer.Option(None, help="Where the simulators are "
                                                 "(default http://127.0.0.1:8080/simulators)."),
    lease_seconds: float = typer.Option(30.0, help="Lease of a claimed item."),
    poll_seconds: float = typer.Option(0.5, help="Longest sleep when idle."),
    max_in_flight: int = typer.Option(200, help="Items run at once by this process."),
) -> None:
    """Run a worker process only (scale-out): claims and runs plan items."""
    logging.basicConfig(level=logging.INFO)
    settings = Settings(workers=1, lease_seconds=lease_seconds, poll_seconds=poll_seconds,
                        max_in_flight=max_in_flight)
    if simulators_url:
        settings.simulators_url = simulators_url
    container = _bootstrap(settings, database, catalog)

    async def main() -> None:
        await container.start_workers(1)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        console.print(f"worker {container.workers[0].name} on {settings.database_url}", highlight=False)
        await stop.wait()
        await container.stop()

    asyncio.run(main())


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
