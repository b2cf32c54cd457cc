"""Security headers on every console response (HTML, fragments, static files, the stream)."""

from __future__ import annotations

# No inline script anywhere (script-src 'self'). Mermaid writes <style> elements into the SVG
# it renders and htmx sets inline styles, hence style-src 'unsafe-inline' (styles cannot run
# code). Mermaid 11 needs no 'unsafe-eval'.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def is_console(path: str) -> bool:
    return path == "/" or path == "/console" or path.startswith("/console/")


class ConsoleHeaders:
    """A pure ASGI middleware (it does not buffer, so the event stream streams)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not is_console(scope.get("path", "")):
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/console/static/")

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", [])
                           if h[0].lower() not in {name for name, _ in HEADERS}]
                headers += HEADERS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
