"""``ordertower catalog ...``: validate catalog files and print their JSON Schema.

    ordertower catalog validate PATH      # a .yaml file or a folder of them
    ordertower catalog schema [--output FILE]

``validate`` prints every problem as ``file:line: path: message`` (one per line, plain text,
easy to grep; a knock-on error of another ends ``[knock-on: ...]``), all of them in one run,
and exits 1; a valid catalog gets a short summary and exit 0.
``schema`` gives the JSON Schema of one catalog *file*, for editors (docs/catalog.md).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, Optional

import typer
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema
from rich.console import Console
from rich.table import Table

from ..adapters.catalog_files import CatalogLoadError, load_catalog
from ..domain.catalog import Catalog
from ..domain.durations import format_duration
from ..engine.steps import registered_steps

catalog_app = typer.Typer(help="Check catalog files and print their JSON Schema.",
                          no_args_is_help=True)

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# As ordertower.domain.durations.parse_duration reads them: '500ms', '10s', '5m', '1h30m',
# '2d', '1w' (parts of a number and a unit, largest first or not), or a number of seconds.
DURATION_PATTERN = r"^ *(?:\d+(?:\.\d+)? *(?:ms|s|m|h|d|w) *)+$"
DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": DURATION_PATTERN},
        {"type": "number", "minimum": 0},
    ],
    "description": "A duration: '500ms', '10s', '5m', '2h', '1d', '1w', '1h30m', "
                   "or a number of seconds.",
}


_DURATION_MARK = "x-ordertower-duration"


def _link_durations(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _link_durations(v) for k, v in node.items() if k != _DURATION_MARK}
        if node.get(_DURATION_MARK):
            out = {"$ref": "#/$defs/Duration", **out}
        return out
    if isinstance(node, list):
        return [_link_durations(v) for v in node]
    return node


class _CatalogSchemaGenerator(GenerateJsonSchema):
    """Pydantic's generator, with durations as catalog files write them."""

    def timedelta_schema(self, schema: core_schema.TimedeltaSchema) -> JsonSchemaValue:
        return {_DURATION_MARK: True}  # becomes a $ref to $defs.Duration in catalog_file_schema

    def encode_default(self, dft: Any) -> Any:
        return super().encode_default(_short_durations(dft))


def _short_durations(value: Any) -> Any:
    """A default with its durations written as in catalog files ('1s', not 'PT1S')."""
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, BaseModel):
        return _short_durations(value.model_dump(mode="python", by_alias=True))
    if isinstance(value, dict):
        return {k: _short_durations(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_short_durations(v) for v in value]
    return value


def catalog_file_schema() -> dict[str, Any]:
    """The JSON Schema of one catalog file (every section optional, no other keys)."""
    schema = Catalog.model_json_schema(by_alias=True, schema_generator=_CatalogSchemaGenerator)
    schema = _link_durations(schema)
    schema["$defs"]["Duration"] = json.loads(json.dumps(DURATION_SCHEMA))
    props = schema["properties"]
    # the loader accepts any scalar version (version: 3 is read as "3")
    props["version"] = {"anyOf": [{"type": "string"}, {"type": "number"}],
                        "default": "0", "title": "Version",
                        "description": "The catalog version; every file that names one "
                                       "must name the same."}
    # a rule's source may be one id or a list of ids (Rule._listify)
    rule = schema["$defs"]["Rule"]["properties"]
    rule["source"] = {"anyOf": [{"type": "string"},
                                {"type": "array", "items": {"type": "string"}}],
                      "title": "Source",
                      "description": "The product id (or list of ids) the rule applies to."}
    out: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "title": "ordertower catalog file",
        "description": "One file of an ordertower catalog (see docs/catalog.md). A catalog is "
                       "one file or a folder of files merged in name order.",
    }
    out.update({k: v for k, v in schema.items() if k not in ("title", "description")})
    return out


def catalog_file_schema_text() -> str:
    return json.dumps(catalog_file_schema(), indent=2, ensure_ascii=False) + "\n"


@catalog_app.command("validate")
def validate(path: Path = typer.Argument(..., help="A catalog .yaml file or a folder of them.")) -> None:
    """Load a catalog and report every problem (file:line: path: message)."""
    try:
        loaded = load_catalog(path, known_steps=registered_steps())
    except CatalogLoadError as exc:
        for problem in exc.problems:
            typer.echo(str(problem))
        n, knock_ons = len(exc.problems), exc.knock_ons
        typer.echo(f"{n} problem{'s' if n != 1 else ''} found in {path}"
                   + (f" ({knock_ons} of them knock-on)" if knock_ons else ""))
        raise typer.Exit(1)
    cat = loaded.catalog
    for warning in loaded.warnings:
        typer.echo(str(warning))
    console = Console()
    console.print(f"[green]Catalog {path} is valid.[/green]", soft_wrap=True, highlight=False)
    table = Table(show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("version", loaded.version)
    table.add_row("files", str(len(loaded.files)))
    table.add_row("systems", str(len(cat.systems)))
    table.add_row("products", str(len(cat.products)))
    table.add_row("technical products", str(len(cat.technical_products)))
    table.add_row("rules", str(len(cat.rules)))
    table.add_row("scenarios", str(len(cat.scenarios)))
    console.print(table)


@catalog_app.command("schema")
def schema(output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Write the schema to this file instead of printing it.")) -> None:
    """Print the JSON Schema of a catalog file (for editors and CI)."""
    text = catalog_file_schema_text()
    if output is None:
        typer.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}", err=True)

