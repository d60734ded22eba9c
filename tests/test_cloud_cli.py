"""`sqjz cloud`: a fresh data folder is migrated and usable at once; first admin from env or CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cloud.store.migrations import MIGRATIONS
from simulators.broker import free_port

SQJZ = [sys.executable, "-m", "sqjz.cli"]


def test_migrate_then_create_admin_from_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "SQJZ_DATA_DIR": str(tmp_path / "d")}
    out = subprocess.run(
        [*SQJZ, "cloud", "migrate"], env=env, capture_output=True, text=True, check=True
    )
    every = [v for v, _name, _sql in MIGRATIONS]
    assert f"applied migrations {every}" in out.stdout
    out = subprocess.run(
        [*SQJZ, "cloud", "migrate"], env=env, capture_output=True, text=True, check=True
    )
    assert "up to date" in out.stdout
    weak = subprocess.run(
        [*SQJZ, "cloud", "create-admin", "--username", "root"],
        env={**env, "SQJZ_ADMIN_PASSWORD": "short"},
        capture_output=True,
        text=True,
    )
    assert weak.returncode == 2 and "at least 10" in weak.stdout
    ok = subprocess.run(
        [*SQJZ, "cloud", "create-admin", "--username", "root"],
        env={**env, "SQJZ_ADMIN_PASSWORD": "a-good-pass-1"},
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "administrator root created" in ok.stdout
    assert (tmp_path / "d" / "sqjz.db").exists()


def test_serve_a_fresh_folder_with_the_first_admin_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SQJZ_ADMIN_USERNAME": "chief",
        "SQJZ_ADMIN_PASSWORD": "first-admin-pw-1",
        "SQJZ_JOBS_INTERVAL_S": "3600",
    }
    proc = subprocess.Popen(
        [*SQJZ, "cloud", "--port", str(port), "--data-dir", str(tmp_path / "fresh"), "--no-mqtt"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/api/v1/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "server did not come up"
            time.sleep(0.1)
        r = httpx.post(
            url + "/api/v1/auth/login", json={"username": "chief", "password": "first-admin-pw-1"}
        )
        assert r.status_code == 200 and r.json()["role"] == "admin"
        h = {"authorization": "Bearer " + r.json()["token"]}
        r = httpx.post(
            url + "/api/v1/units", json={"kind": "county", "name": "甲县司法局"}, headers=h
        )
        assert r.status_code == 201
        assert httpx.get(url + "/login").text.count("登录") >= 1
    finally:
        proc.terminate()
        proc.wait(timeout=15)
