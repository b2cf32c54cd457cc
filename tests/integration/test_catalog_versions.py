"""Catalog versions, on SQLite and PostgreSQL: each order records the catalog version it was
decomposed with, and loading a new catalog never changes an order already in flight."""

from __future__ import annotations

from ..support.catalogs import next_version, write_catalog


def test_a_new_catalog_never_changes_an_order_in_flight(server_factory, tmp_path):
    before = server_factory(start_workers=False)  # accepts orders; nothing runs them yet
    in_flight = before.post_order().json()
    old_version = before.container.catalog.version
    before.stop()

    after = server_factory(catalog_path=str(write_catalog(tmp_path / "next", next_version)))
    done = after.wait_for(in_flight["id"])
    fresh = after.wait_for(after.post_order().json()["id"])

    assert done["state"] == fresh["state"] == "completed"
    [old_call, new_call] = after.simulator("network")["requests"]
    assert (old_call["path"], old_call["body"]["speed_profile"]) == ("/lines/activate", "5g-300mbps")
    assert (new_call["path"], new_call["body"]["speed_profile"]) == ("/lines/activate-v2", "5g-500mbps")
    versions = [after.client.get(f"/api/v1/orders/{o['id']}/decomposition").json()["catalog_version"]
                for o in (done, fresh)]
    assert versions == [old_version, after.container.catalog.version]
    assert versions[0].startswith("2026.11.1+") and versions[1].startswith("2026.12.0+")
