"""Manual tasks from the command line, against a live server."""

from __future__ import annotations

from typer.testing import CliRunner

from ordertower.entrypoints.cli import app

from ..support.engine import ORCHESTRATION_CATALOG, order_body


def test_a_person_lists_claims_and_completes_a_task_with_the_cli(server_factory):
    server = server_factory(catalog_path=str(ORCHESTRATION_CATALOG))
    server.set_simulator("field-service", async_reply=True, async_delay_ms=0)
    resp = server.post_order(order_body(("1", "fiber", {"speed": 100, "install": "technician"})))
    order_id = resp.json()["id"]
    server.wait_for_item(order_id, "1/fiber-line#install", {"waiting"})
    runner = CliRunner()
    env = {"ORDERTOWER_URL": server.url, "COLUMNS": "200"}
    task_id = server.client.get("/api/v1/tasks").json()[0]["id"]

    listed = runner.invoke(app, ["task", "list", "--queue", "install"], env=env)
    claimed = runner.invoke(app, ["task", "claim", task_id, "--as", "bob"], env=env)
    again = runner.invoke(app, ["task", "claim", task_id, "--as", "cid"], env=env)
    done = runner.invoke(app, ["task", "complete", task_id, "--as", "bob",
                               "--output", '{"splice_box": "SB-1"}'], env=env)

    assert listed.exit_code == 0 and task_id in listed.output and "Install the fiber" in listed.output
    assert claimed.exit_code == 0 and "claimed by bob" in claimed.output
    assert again.exit_code == 1 and "409" in again.output
    assert done.exit_code == 0 and "completed by bob" in done.output
    assert server.wait_for(order_id)["state"] == "completed"
    install = next(i for i in server.plan(order_id)["items"] if i["key"].endswith("#install"))
    assert install["output"] == {"splice_box": "SB-1"}
