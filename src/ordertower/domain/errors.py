"""Domain errors. Each carries the list of places (fields or items) that caused it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Issue:
    """One problem, at one place: a field path in a request or document, or an item id."""

    location: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.location, "message": self.message}


@dataclass
class DomainError(Exception):
    """A business rule refused something. Nothing was changed."""

    detail: str
    issues: list[Issue] = field(default_factory=list)
    title: str = "Request refused"
    kind: str = "domain-error"

    def __str__(self) -> str:
        if not self.issues:
            return self.detail
        lines = "; ".join(f"{i.location}: {i.message}" for i in self.issues)
        return f"{self.detail} ({lines})"


class InvalidOrder(DomainError):
    """The order does not fit the catalog (unknown offering, bad attribute, duplicate id...)."""

    def __init__(self, issues: list[Issue], detail: str = "The order is not valid for the catalog."):
        super().__init__(detail=detail, issues=issues, title="Invalid order", kind="invalid-order")


class IllegalTransition(DomainError):
    """A state change the life cycle does not allow."""

    def __init__(self, subject: str, current: str, target: str):
        super().__init__(
            detail=f"{subject} cannot go from '{current}' to '{target}'.",
            issues=[Issue(subject, f"illegal transition {current} -> {target}")],
            title="Illegal state transition",
            kind="illegal-transition",
        )
        self.current = current
        self.target = target


class PlanNotAcyclic(DomainError):
    def __init__(self, cycle: list[str]):
        super().__init__(
            detail="The plan has a dependency cycle: " + " -> ".join(cycle),
            issues=[Issue(cycle[0], "part of a dependency cycle")],
            title="Plan has a cycle",
            kind="plan-cycle",
        )


class NotFound(DomainError):
    def __init__(self, what: str, ident: str):
        super().__init__(
            detail=f"No {what} with id '{ident}'.",
            issues=[Issue("id", f"unknown {what}")],
            title="Not found",
            kind="not-found",
        )


class ConcurrentChange(DomainError):
    """What was read has been changed by someone else since: the change is not made."""

    def __init__(self, subject: str):
        super().__init__(detail=f"{subject} was changed by someone else; try again.",
                         title="Concurrent change", kind="concurrent-change")


class TransactionConflict(ConcurrentChange):
    """The transaction lost a race with a concurrent one (a deadlock, a serialization
    failure, a busy database): running the use case again can succeed."""

    def __init__(self, reason: str):
        super().__init__("the data this request changes")
        self.reason = reason
        self.detail = (f"The request kept colliding with concurrent changes to the same data "
                       f"({reason}); nothing was changed. Try again.")


class DatabaseUnavailable(Exception):
    """The database cannot serve now (connection lost or refused, shutting down or starting
    up, read-only, disk full, locked too long), though it may shortly: nothing was changed,
    and the same request can be made again later (503 with Retry-After; workers back off)."""

    def __init__(self, reason: str):
        super().__init__(f"the database is unavailable: {reason}")
        self.reason = reason


class InvalidCatalog(DomainError):
    """Catalog files that do not load: every problem, as ``catalog validate`` prints it."""

    def __init__(self, problems: list[Issue]):
        super().__init__(detail=f"The catalog is not valid: {len(problems)} problem(s).",
                         issues=problems, title="Invalid catalog", kind="invalid-catalog")
