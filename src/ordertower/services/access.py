"""Use cases of access control: API keys (only their SHA-256 is stored). A key is its user's:
the key's name is the user's name (one key not revoked per name), its role the user's role;
the user's queues are data (services/people.py). Creating and revoking a key is audited (an
event naming who did it, never the key)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from ..domain.errors import Issue, NotFound
from ..domain.ids import new_id
from ..domain.roles import ROLES, is_role
from ..engine.ports import Store
from .errors import BadInput, Conflict

KEY_PREFIX = "otk_"
MAX_NAME = 200


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def ensure_admin_key(store: Store, bootstrap_key: str | None) -> str | None:
    """Make sure an admin can get in. Returns a new one-time key to print, or None.

    With ORDERTOWER_BOOTSTRAP_KEY, that key is (also) an admin key. Without it, the first
    start, finding no key at all, creates one and returns it: it is shown once, never again.
    """
    with store.uow() as uow:
        now = uow.clock.now()
        if bootstrap_key:
            h = key_hash(bootstrap_key)
            if not uow.keys.exists(h):
                uow.keys.add(new_id(), "bootstrap", h, "admin", now)
            uow.commit()
            return None
        if uow.keys.count():
            return None
        key = new_key()
        uow.keys.add(new_id(), "first-admin", key_hash(key), "admin", now)
        uow.commit()
        return key


def identity_of(store: Store, key: str) -> tuple[str, str] | None:
    """(name, role) of a valid key, or None: read afresh each time (a revocation is seen by the
    next request on every node)."""
    with store.read() as uow:
        return uow.keys.identity(key_hash(key))


def identity_of_hash(store: Store, hashed: str) -> tuple[str, str] | None:
    """(name, role) of a valid key known by its SHA-256 (the console's session holds only that)."""
    with store.read() as uow:
        return uow.keys.identity(hashed)


def role_of(store: Store, key: str) -> str | None:
    identity = identity_of(store, key)
    return identity[1] if identity else None


def shown(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "role": row["role"],
            "created_at": row["created_at"], "revoked_at": row["revoked_at"]}


def create_key(store: Store, body: Any, actor: str, known_queues: list[str] | None = None) -> dict[str, Any]:
    """A new key ``{"name", "role", "queues"?}``: the key of the user ``name`` (one key not
    revoked per user), who belongs to ``queues`` (added to them; never removed from others).
    Returns its listing and the key itself (shown once)."""
    if not isinstance(body, dict):
        raise BadInput([Issue("body", "expected a JSON object with name and role")])
    issues = []
    name, role, queues = body.get("name"), body.get("role"), body.get("queues", [])
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        issues.append(Issue("name", f"expected a non-empty string of at most {MAX_NAME} characters"))
    if not isinstance(role, str) or not is_role(role):
        issues.append(Issue("role", f"expected one of {', '.join(ROLES)}"))
    if not isinstance(queues, list) or not all(isinstance(q, str) for q in queues):
        issues.append(Issue("queues", "expected a list of work queue ids"))
    else:
        issues.extend(Issue(f"queues[{n}]", f"unknown work queue '{q}'") for n, q in enumerate(queues)
                      if known_queues is not None and q not in known_queues)
    unknown = sorted(set(body) - {"name", "role", "queues"})
    issues.extend(Issue(f, "unknown field (send name, role and queues)") for f in unknown)
    if issues:
        raise BadInput(issues, "The key is not valid.")
    name = name.strip()
    key = new_key()
    with store.uow() as uow:
        if uow.keys.name_taken(name):
            raise Conflict(f"a key named '{name}' exists; revoke it or choose another name", "name")
        now = uow.clock.now()
        key_id = new_id()
        uow.keys.add(key_id, name, key_hash(key), role, now)
        uow.events.add("ApiKeyCreateEvent", {"key": key_id, "name": name, "role": role,
                                             "queues": queues, "actor": actor}, now)
        for queue in dict.fromkeys(queues):
            if uow.people.add_member(queue, name, actor, now):
                uow.events.add("QueueMemberAddEvent", {"queue": queue, "user": name, "actor": actor}, now)
        member_of = uow.people.queues_of(name) if queues else []
        uow.commit()
    return shown({"id": key_id, "name": name, "role": role, "created_at": now,
                  "revoked_at": None}) | {"key": key, "queues": member_of}


def list_keys(store: Store) -> list[dict[str, Any]]:
    with store.read() as uow:
        return [shown(r) for r in uow.keys.listing()]


def revoke_key(store: Store, key_id: str, actor: str) -> dict[str, Any]:
    """Revoke a key: refused from its next request on, on every node."""
    with store.uow() as uow:
        row = uow.keys.get(key_id)
        if row is None:
            raise NotFound("key", key_id)
        if row["revoked_at"] is not None:
            raise Conflict("this key is already revoked", "id")
        if row["role"] == "admin" and uow.keys.active_admins(for_update=True) == [key_id]:
            raise Conflict("this is the last admin key: nobody could create keys or revoke them "
                           "any more; create another admin key first", "id")
        now = uow.clock.now()
        uow.keys.revoke(key_id, now)
        uow.events.add("ApiKeyRevokeEvent", {"key": key_id, "name": row["name"],
                                             "role": row["role"], "actor": actor}, now)
        uow.commit()
        return shown(row | {"revoked_at": now})
