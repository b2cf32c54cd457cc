"""The HTTP API: TMF622, TMF637, the operations API, health; RFC 9457 errors."""
