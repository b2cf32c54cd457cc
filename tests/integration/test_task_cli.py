"""Manual tasks from the command line, against a live server with access control on: each
person works as the user of their key (never a name on the command line)."""

from __future__ import annotations

from typer.testing import CliRunner

from ordertower.entrypoints.cli import app

from ..support.engine import ORCHESTRATION_CATALOG, order_body

ADMIN_KEY = "otk_task_cli_admin_key"


def _key(runner, env, name, role, *queues):
    made = runner.invoke(app, ["keys", "create", name, "--role", role, *[a for q in queues for a in ("--queue", q)]],
                         env=env | {"ORDERTOWER_API_KEY": ADMIN_KEY})
    assert made.exit_code == 0, made.output
    return made.output.strip().splitlines()[-1]


def test_people_claim_reassign_and_complete_a_task_with_the_cli_each_as_their_key(server_factory):
    server = server_factory(catalog_path=str(ORCHESTRATION_CATALOG), auth=True, bootstrap_key=ADMIN_KEY)
    server.set_simulator("field-service", async_reply=True, async_delay_ms=0)
    resp = server.post_order(order_body(("1", "fiber", {"speed": 100, "install": "technician"})))
    order_id = resp.json()["id"]
    server.wait_for_item(order_id, "1/fiber-line#install", {"waiting"})
    runner = CliRunner()
    env = {"ORDERTOWER_URL": server.url, "COLUMNS": "200"}
    ann = env | {"ORDERTOWER_API_KEY": _key(runner, env, "ann", "agent")}  # install member (catalog)
    bob = env | {"ORDERTOWER_API_KEY": _key(runner, env, "bob", "agent", "install")}
    olga = env | {"ORDERTOWER_API_KEY": _key(runner, env, "olga", "operator")}
    task_id = server.client.get("/api/v1/tasks").json()[0]["id"]

    listed = runner.invoke(app, ["task", "list", "--queue", "install"], env=ann)
    claimed = runner.invoke(app, ["task", "claim", task_id], env=ann)
    again = runner.invoke(app, ["task", "claim", task_id], env=bob)
    not_theirs = runner.invoke(app, ["task", "complete", task_id], env=bob)
    reassigned = runner.invoke(app, ["task", "reassign", task_id, "--to", "bob", "--reason", "ann left"], env=olga)
    done = runner.invoke(app, ["task", "complete", task_id, "--output", '{"splice_box": "SB-1"}'], env=bob)
    members = runner.invoke(app, ["queues", "list"], env=bob)

    assert listed.exit_code == 0 and task_id in listed.output and "Install the fiber" in listed.output
    assert claimed.exit_code == 0 and "claimed by ann" in claimed.output
    assert again.exit_code == 1 and "409" in again.output
    assert not_theirs.exit_code == 1 and "403" in not_theirs.output
    assert reassigned.exit_code == 0 and "reassigned to bob" in reassigned.output
    assert done.exit_code == 0 and "completed by bob" in done.output
    assert members.exit_code == 0 and "ann, bob, cid" in members.output
    assert server.wait_for(order_id)["state"] == "completed"
    install = next(i for i in server.plan(order_id)["items"] if i["key"].endswith("#install"))
    assert install["output"] == {"splice_box": "SB-1"}
