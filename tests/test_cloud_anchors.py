"""Audit anchoring: signed anchors held outside the server catch a chain rewritten from some
entry onwards with recomputed hashes (which the server's own check cannot); the anchor is
published retained over MQTT; the procuratorate's check page in Chromium."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import expect, sync_playwright

from cloud import jobs
from cloud.anchor_key import AnchorKey
from cloud.domain import anchors, audit_chain
from cloud.store import Store
from cloud.testkit import PASSWORD, County, LiveCloud, chromium, id_number
from simulators.broker import Mosquitto


def rewrite_chain_from(store: Store, seq: int, actor: str) -> None:
    """What someone with database access can do: edit entry `seq`, recompute every later hash."""
    with store.tx():
        store.x("DROP TRIGGER audit_no_update")
        prev_row = store.one("SELECT hash FROM audit WHERE seq = ?", (seq - 1,))
        prev = prev_row["hash"] if prev_row else audit_chain.GENESIS
        for row in store.q("SELECT * FROM audit WHERE seq >= ? ORDER BY seq", (seq,)):
            if row["seq"] == seq:
                row["actor"] = actor
            row["prev_hash"], row["hash"] = prev, audit_chain.entry_hash(prev, row)
            store.x(
                "UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (row["actor"], row["prev_hash"], row["hash"], row["seq"]),
            )
            prev = row["hash"]
        store.x(
            "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
            "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
        )


def test_check_is_pure_over_rows_and_anchors() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    rows: list[dict[str, Any]] = []
    prev = audit_chain.GENESIS
    for seq in range(1, 6):
        row: dict[str, Any] = {
            "seq": seq,
            "at": 1000 + seq,
            "actor": "a",
            "role": "office",
            "action": "x",
            "object_kind": "case",
            "object_id": "1",
            "detail": "{}",
        }
        row["prev_hash"], row["hash"] = prev, audit_chain.entry_hash(prev, row)
        prev = str(row["hash"])
        rows.append(row)
    a3 = anchors.make("县", 3, rows[2]["hash"], 2000, None, public, key.sign)
    a5 = anchors.make("县", 5, rows[4]["hash"], 3000, a3, public, key.sign)
    assert a5["prev_anchor"] == anchors.anchor_hash(a3)
    assert anchors.check(rows, [a3, a5], public).ok
    other = Ed25519PrivateKey.generate()
    forged = anchors.make("县", 3, "00" * 32, 2000, None, public, other.sign)
    report = anchors.check(rows, [forged], public)
    assert report.findings == [anchors.Finding(3, "anchor signature invalid")]
    assert not anchors.check(rows[:4], [a3, a5], public).ok  # entry 5 gone: cut
    edited = [dict(r) for r in rows]
    edited[1]["actor"] = "b"
    assert anchors.check(edited, [a3], public).findings[0] == anchors.Finding(
        2, "chain does not link here"
    )


@pytest.fixture()
def county() -> Iterator[County]:
    c = County({"anchor_interval_s": 3600})
    c.published = []  # type: ignore[attr-defined]
    c.rt.publish = lambda t, p, retain=False: c.published.append((t, p, retain))  # type: ignore[attr-defined]
    yield c
    c.close()


def test_a_rewritten_chain_is_caught_by_an_older_anchor(county: County) -> None:
    county.open_case("supervising")
    r = county.call("procuratorate", "POST", "/api/v1/audit/anchors")
    assert r.status_code == 201
    first = r.json()
    assert county.published[-1][0] == "sqjz/v1/audit/anchor" and county.published[-1][2]  # type: ignore[attr-defined]
    # More work, then the periodic anchor.
    county.open_case("received", id_number=id_number(51))
    county.advance(3600)
    assert jobs.run_all(county.rt, int(county.now))["anchored"]
    assert not jobs.run_all(county.rt, int(county.now))["anchored"]  # not due again yet
    held = county.call("procuratorate", "GET", "/api/v1/audit/anchors").json()
    key = held["public_key"]
    assert held["anchors"][0]["seq"] == first["seq"] and len(held["anchors"]) == 2
    check = {"public_key": key, "anchors": held["anchors"]}
    r = county.call("procuratorate", "POST", "/api/v1/audit/anchors/check", json=check)
    assert r.json()["ok"] and r.json()["anchors_checked"] == 2
    # Someone with database access rewrites history from entry 5 on, recomputing the hashes...
    store = county.rt.store
    rewrite_chain_from(store, 5, "nobody")
    assert county.call("procuratorate", "GET", "/api/v1/audit/verify").json()["ok"]
    # ...and even re-signs the server's own anchors with the key on the server.
    signer = AnchorKey(county.rt.settings.anchor_key_file)
    with store.tx():
        store.x("DROP TRIGGER audit_anchors_no_update")
        prev = None
        for row in store.q("SELECT * FROM audit_anchors ORDER BY id"):
            head = store.one("SELECT hash FROM audit WHERE seq = ?", (row["seq"],))["hash"]
            rec = anchors.make(
                county.rt.settings.county_name,
                row["seq"],
                head,
                row["at"],
                prev,
                signer.public,
                signer.sign,
            )
            store.x(
                "UPDATE audit_anchors SET head = ?, body = ?, signature = ? WHERE id = ?",
                (head, anchors.canonical(rec).decode(), rec["signature"], row["id"]),
            )
            prev = rec
    served = county.call("procuratorate", "GET", "/api/v1/audit/anchors").json()["anchors"]
    r = county.call(
        "procuratorate",
        "POST",
        "/api/v1/audit/anchors/check",
        json={"public_key": key, "anchors": served},
    )
    assert r.json()["ok"]  # the server's own copy agrees with itself: proves nothing
    # The anchors the procuratorate kept in its own system do not.
    r = county.call("procuratorate", "POST", "/api/v1/audit/anchors/check", json=check)
    report = r.json()
    assert not report["ok"]
    assert {f["seq"] for f in report["findings"]} == {a["seq"] for a in held["anchors"]}
    assert "rewritten" in report["findings"][0]["problem"]


def test_cut_chain_and_a_foreign_key_are_reported(county: County) -> None:
    county.open_case("supervising")
    anchor = county.call("procuratorate", "POST", "/api/v1/audit/anchors").json()
    store = county.rt.store
    with store.tx():
        store.x("DROP TRIGGER audit_no_delete")
        store.x("DELETE FROM audit WHERE seq >= ?", (anchor["seq"] - 1,))
    held = {"public_key": anchor_key(county), "anchors": [anchor]}
    report = county.call("procuratorate", "POST", "/api/v1/audit/anchors/check", json=held).json()
    assert report["findings"] == [
        {"seq": anchor["seq"], "problem": "anchored entry missing: the chain was cut"}
    ]
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    held["public_key"] = other
    report = county.call("procuratorate", "POST", "/api/v1/audit/anchors/check", json=held).json()
    assert report["findings"][0]["problem"] == "anchor signature invalid"
    r = county.call("office", "POST", "/api/v1/audit/anchors")
    assert r.status_code == 403  # the 司法所 neither reads nor anchors the log


def anchor_key(county: County) -> str:
    return str(county.call("procuratorate", "GET", "/api/v1/audit/anchors").json()["public_key"])


def test_the_key_file_is_private_and_survives_a_restart(tmp_path: Path) -> None:
    key = AnchorKey(tmp_path / "anchor-key.pem")
    assert (tmp_path / "anchor-key.pem").stat().st_mode & 0o777 == 0o600
    assert AnchorKey(tmp_path / "anchor-key.pem").public == key.public


def test_anchor_published_retained_over_mqtt(mosquitto: Mosquitto) -> None:
    from cloud.app import start_workers

    county = County({"mqtt_enabled": True, "mqtt_port": mosquitto.port, "jobs_interval_s": 3600})
    try:
        start_workers(county.rt)
        got = threading.Event()
        received: list[dict[str, Any]] = []
        county.rt.mqtt.connected.wait(15)
        record = county.call("admin", "POST", "/api/v1/audit/anchors").json()
        # A subscriber that arrives later (the procuratorate's) still gets the latest anchor.
        sub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="procuratorate-1")

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            received.append(json.loads(msg.payload))
            got.set()

        sub.on_message = on_message
        sub.connect("127.0.0.1", mosquitto.port)
        sub.subscribe("sqjz/v1/audit/anchor", qos=1)
        sub.loop_start()
        assert got.wait(15)
        sub.loop_stop()
        sub.disconnect()
        assert received[0] == record
        assert anchors.signature_ok(received[0], county.rt.anchor_key().public)
    finally:
        county.close()


def test_procuratorate_checks_the_chain_with_its_own_anchors_in_chromium(tmp_path: Path) -> None:
    with (
        LiveCloud({"mqtt_enabled": False, "jobs_interval_s": 3600}) as live,
        sync_playwright() as p,
    ):
        live.open_case("received", id_number=id_number(52))
        browser = chromium(p)
        page = browser.new_page()
        page.goto(f"{live.url}/login")
        page.fill("input[name=username]", "procuratorate")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-submit")
        page.goto(f"{live.url}/audit")
        page.click("#issue-anchor")
        expect(page.locator("#anchors tr.anchor")).to_have_count(1)
        with page.expect_download() as download:
            page.click("#download-anchors")
        saved = tmp_path / "held.json"
        download.value.save_as(saved)
        key = page.locator("#anchor-public-key").inner_text().strip()  # noted at setup
        page.set_input_files("input[name=anchors]", str(saved))
        page.fill("input[name=public_key]", key)
        page.click("#check-held")
        expect(page.locator("#check-result")).to_contain_text("与所持锚点一致")
        rewrite_chain_from(live.rt.store, 3, "nobody")
        page.goto(f"{live.url}/audit")
        expect(page.locator("#chain-state")).to_contain_text("哈希链完整")  # inside: consistent
        page.set_input_files("input[name=anchors]", str(saved))
        page.fill("input[name=public_key]", key)
        page.click("#check-held")
        expect(page.locator("#check-result")).to_contain_text("发现不一致")
        expect(page.locator("#check-result li.finding")).to_contain_text("rewritten")
        browser.close()
