"""The ``ordertower`` command line (Typer + Rich)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Optional

import structlog
import typer
from rich.console import Console

from ..config import Settings
from .cli_catalog import catalog_app
from .cli_catalog_deploy import deploy_command, versions_command
from .cli_explain import diff_command, explain_command
from .cli_fallout import fallout_app
from .cli_jeopardy import jeopardy_app
from .cli_keys import keys_app
from .cli_queues import queues_app, users_app
from .cli_order import order_app
from .cli_systems import systems_app
from .cli_task import task_app

app = typer.Typer(help="ordertower: order management and orchestration (TMF622).",
                  no_args_is_help=True, pretty_exceptions_enable=False)
catalog_app.command("explain")(explain_command)
catalog_app.command("diff")(diff_command)
catalog_app.command("deploy")(deploy_command)
catalog_app.command("versions")(versions_command)
app.add_typer(catalog_app, name="catalog")
app.add_typer(order_app, name="order")
app.add_typer(task_app, name="task")
app.add_typer(fallout_app, name="fallout")
app.add_typer(jeopardy_app, name="jeopardy")
app.add_typer(systems_app, name="systems")
app.add_typer(keys_app, name="keys")
app.add_typer(queues_app, name="queues")
app.add_typer(users_app, name="users")
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(stderr=True)
log = structlog.get_logger("ordertower")


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
        console.print(f"[red]Cannot start:[/red] {exc}", markup=True, highlight=False,
                      soft_wrap=True)
    raise typer.Exit(1)


def _bootstrap(settings: Settings, database: str | None, catalog: str | None, role: str = "serve"):
    """Flags override the environment; a start-up problem is reported plainly (exit 1)."""
    from ..bootstrap import bootstrap

    if database:
        settings.database_url = database
    if catalog:
        settings.catalog_path = catalog
    try:
        return bootstrap(settings, role=role)
    except Exception as exc:
        _startup_problem(exc)


def _logging(log_format: str | None, log_level: str) -> None:
    from ..logs import configure_logging

    try:
        configure_logging(log_format, log_level)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2)


LOG_FORMAT = typer.Option(None, "--log-format", help="json or console; default "
                          "$ORDERTOWER_LOG_FORMAT, else console on a terminal and json elsewhere.")
LOG_LEVEL = typer.Option("info", "--log-level", help="debug, info, warning or error.")
GRACE = typer.Option(30.0, "--grace-seconds", min=0, help="On SIGTERM: how long running items "
                     "may take to finish before they are released (not charged).")
NO_MIGRATE = typer.Option(False, "--no-migrate", help="Do not upgrade the schema at start; "
                          "refuse to start unless it is at head ('ordertower db upgrade').")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", envvar="ORDERTOWER_HOST", help="Address to listen on."),
    port: int = typer.Option(8080, envvar="ORDERTOWER_PORT", help="Port to listen on."),
    database: Optional[str] = typer.Option(None, help="Database URL (sqlite:///file.db or "
                                           "postgresql://user@host:5432/name); default "
                                           "$ORDERTOWER_DATABASE_URL or sqlite:///ordertower.db."),
    catalog: Optional[str] = typer.Option(None, help="Catalog file or folder; default "
                                          "$ORDERTOWER_CATALOG or the reference catalog."),
    workers: Optional[int] = typer.Option(None, min=0, help="Worker processes started as "
                                          "children of serve (0: API only); default 1 on "
                                          "SQLite, on PostgreSQL one per two CPUs (1 to 4)."),
    no_simulators: bool = typer.Option(False, "--no-simulators", help="Do not mount the simulators."),
    no_auth: bool = typer.Option(False, "--no-auth", help="No access control: the API takes no key and "
                                 "the console opens without a login (loopback only)."),
    lease_seconds: float = typer.Option(30.0, help="Lease of a claimed item, renewed while it runs."),
    grace_seconds: float = GRACE,
    no_migrate: bool = NO_MIGRATE,
    log_format: Optional[str] = LOG_FORMAT,
    log_level: str = LOG_LEVEL,
) -> None:
    """Run the API, the operations console (at /), the simulators, and worker processes
    (children of this one: the API never waits behind the engine)."""
    from ..services.access import ensure_admin_key
    from .api.app import create_app
    from .processes import run_server
    from .worker_processes import WorkerProcesses, worker_command, worker_environment

    from ..logs import register_secret

    _logging(log_format, log_level)
    settings = Settings(host=host, port=port, workers=0, simulators=not no_simulators,
                        lease_seconds=lease_seconds, grace_seconds=grace_seconds,
                        migrate=not no_migrate)
    register_secret(settings.bootstrap_key)
    if no_auth:
        settings.auth = False
    if not settings.auth and not _is_loopback(host):  # the flag or ORDERTOWER_NO_AUTH
        console.print(f"[red]Access control is off (--no-auth or ORDERTOWER_NO_AUTH): serving "
                      f"only a loopback address; refusing to listen on {host}.[/red]")
        raise typer.Exit(2)
    container = _bootstrap(settings, database, catalog, role="serve")
    if settings.auth:
        key = ensure_admin_key(container.store, settings.bootstrap_key)
        if key:
            console.print("[bold yellow]First start: your admin API key (shown once; keep it; "
                          "send it as 'Authorization: Bearer KEY'):[/bold yellow]")
            typer.echo(key, err=True)
    if workers is None:
        workers = default_worker_processes(container.store.engine.dialect.name)
    children = None
    if workers:
        public_url = container.executors.callback_base
        children = WorkerProcesses(
            workers, worker_command(catalog_path=settings.catalog_path,
                                    lease_seconds=lease_seconds, grace_seconds=grace_seconds,
                                    log_format=log_format, log_level=log_level),
            worker_environment(settings.database_url, public_url), grace_seconds=grace_seconds)
        container.store.on_work_released(children.ring)
    log.info("serving", url=f"http://{host}:{port}", public_url=container.executors.callback_base,
             database=_safe_url(settings.database_url), catalog=container.catalog.version,
             worker_processes=workers, simulators=settings.simulators, auth=settings.auth)
    run_server(create_app(container, start_workers=False, worker_processes=children), container,
               host, port)


def default_worker_processes(dialect: str, cpus: int | None = None) -> int:
    """serve's worker processes when not told: SQLite takes one writer at a time, so one
    process; PostgreSQL one per two CPUs (``os.cpu_count()``), 1 to 4: the API keeps a share
    of the machine. On 2 CPUs a second worker process made W 1.2 to 1.4 times faster, but
    it cost more CPU than it brought (its own housekeeping, smaller sets) and the API's
    placements waited for it: intake p99 46 to 62 ms with two, 31 to 56 ms with one
    (docs/decisions.md, "The process model of serve")."""
    if dialect != "postgresql":
        return 1
    return max(1, min(4, (cpus if cpus is not None else os.cpu_count() or 2) // 2))


@app.command()
def worker(
    database: Optional[str] = typer.Option(None, help="Database URL (as for serve)."),
    catalog: Optional[str] = typer.Option(None, help="Catalog file or folder."),
    simulators_url: Optional[str] = typer.Option(None, help="Where the simulators are; default: "
                                                 "under the public URL serve recorded in the database."),
    lease_seconds: float = typer.Option(30.0, help="Lease of a claimed item."),
    poll_seconds: float = typer.Option(0.5, help="Longest sleep when idle."),
    max_in_flight: int = typer.Option(1000, help="Items run at once by this process (each system still within its concurrency limit)."),
    metrics_port: int = typer.Option(0, "--metrics-port", min=0, envvar="ORDERTOWER_METRICS_PORT",
                                     help="Serve this worker's /metrics on this port (0: off)."),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host", help="Address of /metrics."),
    nice: int = typer.Option(0, "--nice", min=0, max=19,
                             help="Run at this lower CPU priority (Unix niceness): an API or "
                             "database on the same machine gets the CPU first. serve's own "
                             "worker processes run at 10."),
    grace_seconds: float = GRACE,
    no_migrate: bool = NO_MIGRATE,
    log_format: Optional[str] = LOG_FORMAT,
    log_level: str = LOG_LEVEL,
    supervised: bool = typer.Option(False, "--supervised", hidden=True,
                                    help="Started by serve: standard input is serve's wake-up "
                                    "signal; its end stops this worker."),
) -> None:
    """Run a worker process only (scale-out): claims and runs plan items."""
    from .processes import ignore_terminal_stops, run_worker

    if supervised:  # before its first log line
        ignore_terminal_stops()
    if nice:  # before any thread starts: every thread of this process inherits it
        os.nice(nice)
    _logging(log_format, log_level)
    settings = Settings(workers=1, lease_seconds=lease_seconds, poll_seconds=poll_seconds,
                        max_in_flight=max_in_flight, grace_seconds=grace_seconds,
                        migrate=not no_migrate)
    if simulators_url:
        settings.simulators_url = simulators_url
    container = _bootstrap(settings, database, catalog, role="worker")
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host)
    log.info("worker process ready", database=_safe_url(settings.database_url),
             public_url=container.executors.callback_base, catalog=container.catalog.version)
    run_worker(container, supervised=supervised)


def _safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


@db_app.command("upgrade")
def db_upgrade(database: Optional[str] = typer.Option(None, help="Database URL (as for serve).")) -> None:
    """Bring the database schema to head (safe while other processes start)."""
    from ..bootstrap import upgrade_schema

    settings = Settings()
    url = database or settings.database_url
    try:
        before, after = upgrade_schema(url)
    except Exception as exc:
        _startup_problem(exc)
    if before == after:
        typer.echo(f"schema already at head ({after}) on {_safe_url(url)}")
    else:
        typer.echo(f"schema upgraded from {before or 'empty'} to {after} on {_safe_url(url)}")


@db_app.command("status")
def db_status(database: Optional[str] = typer.Option(None, help="Database URL (as for serve).")) -> None:
    """Show the schema's revision; exit 1 when it is not at head."""
    from ..bootstrap import schema_of

    url = database or Settings().database_url
    try:
        status = schema_of(url)
    except Exception as exc:
        _startup_problem(exc)
    typer.echo(f"{status.describe()} on {_safe_url(url)}")
    if not status.at_head:
        raise typer.Exit(1)


@db_app.command("backup")
def db_backup(path: Path = typer.Argument(..., help="The new file to write the copy to."),
              database: Optional[str] = typer.Option(None, help="Database URL (as for serve).")) -> None:
    """Copy a SQLite store to PATH, consistent while a server writes (PostgreSQL: pg_dump)."""
    from ..adapters.store.backup import BackupRefused, backup_sqlite

    url = database or Settings().database_url
    try:
        size = backup_sqlite(url, path)
    except BackupRefused as exc:
        console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    typer.echo(f"backed up {_safe_url(url)} to {path} ({size} bytes); serve it with "
               f"--database sqlite:///{path}")


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
