"""The console's third-party browser files are exactly the ones VENDORED.md lists, and the
pages load nothing else from elsewhere."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import ordertower.entrypoints.console as console

PACKAGE = Path(console.__file__).parent
VENDOR = PACKAGE / "static" / "vendor"
ROW = re.compile(r"^\| (?P<file>[\w.-]+\.js) \| (?P<package>[^|]+) \| (?P<version>[\w.]+) \| "
                 r"(?P<source>https://registry\.npmjs\.org/\S+\.tgz) \| (?P<licence>[^|]+) \| "
                 r"(?P<sha256>[0-9a-f]{64}) \|$")


def _listed() -> dict[str, dict[str, str]]:
    text = (VENDOR / "VENDORED.md").read_text()
    return {m["file"]: m.groupdict() for m in map(ROW.match, text.splitlines()) if m}


def test_every_vendored_file_is_listed_with_its_version_source_licence_and_checksum():
    listed = _listed()
    on_disk = {p.name for p in VENDOR.glob("*.js")}
    assert on_disk == set(listed) and {"htmx-2.0.11.min.js", "htmx-ext-sse-2.2.4.min.js",
                                      "mermaid-11.17.2.min.js"} == on_disk
    for name, row in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == row["sha256"], name
        assert row["version"] in name and row["version"] in row["source"]
        licence_file = re.search(r"\(([\w.-]+\.LICENSE)\)", row["licence"]).group(1)
        assert (VENDOR / licence_file).read_text().strip(), licence_file


def test_templates_load_scripts_only_from_the_package_and_never_inline():
    for template in (PACKAGE / "templates").glob("*.html"):
        html = template.read_text()
        for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', html):
            assert src.startswith("/console/static/"), (template.name, src)
            assert (PACKAGE / "static" / src.removeprefix("/console/static/")).is_file(), src
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), template.name
        assert not re.search(r"\son[a-z]+\s*=", html), template.name
        assert not re.search(r"(src|href)=\"(https?:)?//", html), template.name
