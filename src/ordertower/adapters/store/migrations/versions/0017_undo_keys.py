"""undo keys: an item that undoes work is keyed by the revision of the work it undoes
(``<key>~undo@<revision of the work>``, domain/revisions.undo_key), no longer by the revision
that planned the undoing. Undo items an amendment planned before this version (keyed by the
amendment's revision) are renamed, so that a cancellation planned after the upgrade, in that
same revision, cannot take the same key. Only keys change: ids, edges and events keep theirs.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

MARK = "~undo@"


def _renamed(key: str, spec) -> str | None:
    """The key the undo item has under the new rule, or None when it has it already."""
    if isinstance(spec, str):
        spec = json.loads(spec)
    undone = (spec or {}).get("line_revision")
    base, _, planned_in = key.rpartition(MARK)
    if not base or undone is None or planned_in == str(undone):
        return None
    return f"{base}{MARK}{undone}"


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, key, spec FROM plan_items WHERE key LIKE :undo"),
                        {"undo": f"%{MARK}%"}).all()
    for item_id, key, spec in rows:
        new_key = _renamed(key, spec)
        if new_key is not None:
            conn.execute(sa.text("UPDATE plan_items SET key = :key WHERE id = :id"),
                         {"key": new_key, "id": item_id})


def downgrade() -> None:
    # the old rule's key is the revision the undo item is in
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, key, revision FROM plan_items WHERE key LIKE :undo"),
                        {"undo": f"%{MARK}%"}).all()
    for item_id, key, in_revision in rows:
        base, _, _ = key.rpartition(MARK)
        if base:
            conn.execute(sa.text("UPDATE plan_items SET key = :key WHERE id = :id"),
                         {"key": f"{base}{MARK}{in_revision}", "id": item_id})
