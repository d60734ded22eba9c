"""110 dispatch: POST each SOS to the configured webhook, retried with backoff until delivered."""

from __future__ import annotations

import json
import logging

import httpx

from cloud.runtime import Runtime

log = logging.getLogger("sqjz.cloud.dispatch")


def backoff(attempts: int, base_s: float, max_s: float) -> float:
    """Seconds before the next try: doubling from base, capped."""
    return float(min(max_s, base_s * (2 ** max(0, attempts - 1))))


def deliver_due(rt: Runtime, now: int, client: httpx.Client | None = None) -> int:
    """Try every due dispatch once; return how many were delivered."""
    st = rt.settings
    if not st.dispatch_url:
        return 0
    headers = {"content-type": "application/json"}
    if st.dispatch_token:
        headers["authorization"] = f"Bearer {st.dispatch_token}"
    delivered = 0
    own = client is None
    http = client or httpx.Client(timeout=5.0)
    try:
        for row in rt.store.dispatch_due(now):
            attempts = row["attempts"] + 1
            try:
                r = http.post(st.dispatch_url, content=row["payload"].encode(), headers=headers)
                ok, err = 200 <= r.status_code < 300, f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                ok, err = False, f"{type(exc).__name__}: {exc}"
            with rt.store.tx():
                if ok:
                    rt.store.update(
                        "dispatches",
                        "id",
                        row["id"],
                        {"attempts": attempts, "delivered_at": now, "last_error": None},
                    )
                    delivered += 1
                else:
                    wait = backoff(attempts, st.dispatch_retry_s, st.dispatch_retry_max_s)
                    rt.store.update(
                        "dispatches",
                        "id",
                        row["id"],
                        {
                            "attempts": attempts,
                            "next_at": now + max(1, int(wait)),
                            "last_error": err[:300],
                        },
                    )
            if not ok:
                log.warning("110 dispatch %s failed (%s), attempt %d", row["id"], err, attempts)
    finally:
        if own:
            http.close()
    return delivered


def payload_of(rt: Runtime, alert_id: int) -> dict[str, object] | None:
    """The stored dispatch payload of an alert (for the UI)."""
    row = rt.store.one(
        "SELECT payload FROM dispatches WHERE alert_id = ? ORDER BY id LIMIT 1", (alert_id,)
    )
    return json.loads(row["payload"]) if row else None
