"""The reference worlds end to end through the simulators, on SQLite and PostgreSQL:
broadband with a router and a technician, and energy with the market and smart meters."""

from __future__ import annotations

from ..support.tmf import add, assets, change, inventory, lines, order, paths


def test_broadband_with_a_technician_ships_a_router_visits_then_activates(server):
    resp = server.post_order(order(add("1", "broadband", speed_mbps="1000", install="technician",
                                       address="Main St 1")))
    done = server.wait_for(resp.json()["id"])

    assert done["state"] == "completed"
    made = lines(server, done["id"])
    assert made["cpe-router"]["attributes"]["model"] == "wifi7-pro"
    assert made["broadband-line"]["attributes"]["speed_kbps"] == 1000000
    [visit] = server.simulator("field-service")["requests"]
    assert visit["body"]["work"] == "install a 1000 Mbps line"
    [activation] = [r for r in server.simulator("network")["requests"] if r["path"] == "/broadband/activate"]
    router = next(r for r in server.simulator("warehouse")["requests"] if r["body"]["kind"] == "router")
    assert max(router["received_at"], visit["received_at"]) < activation["received_at"]


def test_a_self_installed_broadband_line_needs_no_technician(server):
    resp = server.post_order(order(add("1", "broadband", speed_mbps="100", address="Main St 1")))

    assert server.wait_for(resp.json()["id"])["state"] == "completed"
    assert "field-install" not in lines(server, resp.json()["id"])
    assert server.simulator("field-service")["requests"] == []


def test_electricity_moves_in_installs_a_smart_meter_and_moves_house(server):
    resp = server.post_order(order(add("1", "electricity-supply", tariff="green", meter_type="smart",
                                       supply_start="2026-03-01", address="Main St 1")))
    assert server.wait_for(resp.json()["id"])["state"] == "completed"
    supply = assets(server)["electricity-supply"]["id"]
    registered = inventory(server)[f"{supply}/supply-registration"]["attributes"]
    assert paths(server, "market") == ["/move-in"]
    [install] = server.simulator("field-service")["requests"]
    assert install["body"]["install_by"] == "2026-02-22"

    move = server.post_order(order(change("1", "modify", supply, address="Elm St 2",
                                          supply_start="2026-06-01")))
    done = server.wait_for(move.json()["id"])

    assert done["state"] == "completed"
    assert paths(server, "market") == ["/move-in", "/move-out", "/move-in"]
    move_out, move_in = server.simulator("market")["requests"][1:]
    assert move_out["body"]["address"] == "Main St 1"
    assert move_out["body"]["supply_point"] == registered["supply_point_id"]
    assert move_in["body"]["address"] == "Elm St 2" and move_in["body"]["supply_start"] == "2026-06-01"
    assert lines(server, done["id"])["billing-subscription"]["action"] == "noChange"
    after = inventory(server)[f"{supply}/supply-registration"]["attributes"]
    assert after["address"] == "Elm St 2" and after["supply_point_id"] != registered["supply_point_id"]
