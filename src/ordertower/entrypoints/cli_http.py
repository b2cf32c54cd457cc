"""What every HTTP-client command of the CLI shares: where the server is (``--url`` /
``ORDERTOWER_URL``), the API key (``--key`` / ``ORDERTOWER_API_KEY``), one console, and how
a failure is told: a one-line red message (an RFC 9457 problem or TMF630 error with each of
its ``errors[]``; an unreachable server named by its URL) and exit code 1, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn, Optional, Sequence

import httpx
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

DEFAULT_URL = "http://127.0.0.1:8080"
URL = typer.Option(DEFAULT_URL, "--url", envvar="ORDERTOWER_URL", help="The server.")
KEY = typer.Option(None, "--key", envvar="ORDERTOWER_API_KEY", help="API key.")
JSON = typer.Option(False, "--json", help="Print the API's JSON instead of a table.")

# One console for every command; its width follows the terminal (or COLUMNS) at print time.
console = Console(highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Tell what went wrong on one (wrapped, never overflowing) red line and exit."""
    console.print(Text(message, style="red"))
    raise typer.Exit(code)


def problem_message(resp: httpx.Response) -> str:
    """One line from an error response: its title and status, its detail, and every
    ``errors[]`` entry as ``field: message`` (RFC 9457 problem JSON or a TMF630 Error)."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = " ".join(resp.text.split())[:200] or resp.reason_phrase
        return f"Refused ({resp.status_code}): {text}"
    title = body.get("title") or body.get("reason") or "Refused"
    detail = body.get("detail") or body.get("message") or ""
    if detail == title:
        detail = ""
    issues = [f"{e.get('field') or e.get('name') or '?'}: {e.get('message') or e.get('reason') or ''}"
              for e in body.get("errors") or [] if isinstance(e, dict)]
    line = f"{title} ({resp.status_code})" + (f": {detail}" if detail else "")
    if issues:
        line += " — " + "; ".join(issues)
    return line


class Api:
    """A small client of the ordertower API; every failure ends the command with a message."""

    def __init__(self, url: str, key: Optional[str], timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            self._client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        except (httpx.InvalidURL, ValueError) as exc:
            fail(f"{url} is not a server URL ({exc}); set --url or ORDERTOWER_URL, "
                 f"e.g. {DEFAULT_URL}")

    def __enter__(self) -> "Api":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            resp = self._client.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            why = "connection refused" if "refused" in str(exc).lower() else str(exc)
            fail(f"Cannot reach ordertower at {self.url} ({why}). Is `ordertower serve` running "
                 f"there? Set --url or ORDERTOWER_URL.")
        except httpx.TimeoutException:
            fail(f"ordertower at {self.url} did not answer within {self.timeout:g} s.")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            fail(f"Cannot reach ordertower at {self.url}: {exc or type(exc).__name__}")
        if resp.status_code >= 400:
            fail(problem_message(resp))
        return resp

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.request(method, path, **kwargs)
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError:
            fail(f"{self.url}{path} answered {resp.status_code} with something that is not JSON; "
                 f"is {self.url} an ordertower server?")

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.json("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.json("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.json("PUT", path, **kwargs)


def read_json_file(path: Path, what: str = "file") -> Any:
    """A JSON document from a file ('-': standard input); a clear message if it is not one."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as exc:
        fail(f"Cannot read the {what} {path}: {exc.strerror or exc}")
    try:
        return json.loads(text)
    except ValueError as exc:
        fail(f"The {what} {path} is not JSON: {exc}")


def print_json(data: Any) -> None:
    """JSON for scripts: plain, indented, never wrapped or coloured."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def short_time(value: Optional[str]) -> str:
    """``2025-05-01T10:00:00.123+00:00`` -> ``2025-05-01 10:00:00`` (tables are narrow)."""
    if not value:
        return ""
    return value.replace("T", " ")[:19]


def folding_table(title: str, *columns: str | None, **options: Any) -> Table:
    """A table whose cells fold rather than overflow the terminal; ``None`` columns (left out
    on a narrow terminal) are skipped. A column named ``tries`` is right-aligned."""
    table = Table(title=title, title_justify="left", **options)
    for name in columns:
        if name is not None:
            table.add_column(name, overflow="fold", justify="right" if name == "tries" else "left")
    return table


def print_listing(url: str, key: Optional[str], path: str, as_json: bool, noun: str,
                  columns: Sequence[Optional[str]], cells: Callable[[dict[str, Any]], Sequence[str | Text]]) -> None:
    """A ``list`` command: GET ``path`` (a JSON list) and print it, as JSON with ``--json``,
    else as a table titled "N noun(s)", one row per element (``cells`` gives its cells; plain
    strings are shown as text, never as Rich markup)."""
    with Api(url, key) as api:
        rows = api.get(path)
    if as_json:
        print_json(rows)
        return
    table = folding_table(f"{len(rows)} {noun}(s)", *columns)
    for row in rows:
        table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in cells(row)))
    console.print(table)
