"""Errors of use cases that are not business rules of the domain (tokens, tasks...)."""

from __future__ import annotations

from ..domain.errors import DomainError, Issue


class Conflict(DomainError):
    def __init__(self, detail: str, location: str = "state", title: str = "Conflict"):
        super().__init__(detail=detail, issues=[Issue(location, detail)], title=title, kind="conflict")


class Gone(DomainError):
    def __init__(self, detail: str, location: str = "token"):
        super().__init__(detail=detail, issues=[Issue(location, detail)], title="Gone", kind="gone")


class BadInput(DomainError):
    def __init__(self, issues: list[Issue], detail: str = "The request is not valid."):
        super().__init__(detail=detail, issues=issues, title="Bad request", kind="bad-request")
