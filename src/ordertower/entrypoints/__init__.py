"""Entrypoints: the HTTP API, the CLI. Thin: parse, call one use case, render."""
