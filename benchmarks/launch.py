"""`ordertower serve` with a larger request body limit, for the large-order benchmark.

    python benchmarks/launch.py --max-body-bytes N serve [serve's flags ...]

Until commit 6f7b2b7 ordertower had no flag or variable for its body limit (2 MiB,
`Settings.max_body_bytes`), and a 10,000-line order is about 2 MB of JSON (issue 11: answered
413). This runs the unchanged `serve` command with its settings' limits raised (both the
general one and, where it exists, `max_order_body_bytes`), and nothing else changed. The
benchmark uses it only after the default server answered 413.
"""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if len(args) < 2 or args[0] != "--max-body-bytes":
        raise SystemExit(__doc__)
    limit = int(args[1])

    from ordertower.config import Settings
    from ordertower.entrypoints import cli

    def settings_with_limit(*a, **kw) -> Settings:
        settings = Settings(*a, **kw)
        for name in ("max_body_bytes", "max_order_body_bytes"):
            if hasattr(settings, name):
                setattr(settings, name, max(getattr(settings, name), limit))
        return settings

    cli.Settings = settings_with_limit  # the name `serve` builds its settings with
    sys.argv = ["ordertower", *args[2:]]
    cli.main()


if __name__ == "__main__":
    main()
