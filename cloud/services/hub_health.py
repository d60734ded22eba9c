"""Hub offline alerts: raised for the staff of the hub's unit, folded, resolved on its return."""

from __future__ import annotations

import logging

from cloud.domain import hub_health
from cloud.domain.roles import SYSTEM
from cloud.runtime import Runtime
from cloud.services.alerts import broadcast, raise_and_broadcast

log = logging.getLogger("sqjz.cloud.hubs")


def check_hubs(rt: Runtime, now: int) -> int:
    """The job: raise (or fold into) a hub_offline alert for every hub away too long."""
    raised = 0
    after = rt.settings.hub_offline_s
    for hub in rt.store.hubs():
        if not hub_health.offline_alert_due(hub, now, after):
            continue
        since = hub_health.down_since(hub, now, after)
        raise_and_broadcast(
            rt,
            SYSTEM,
            "hub_offline",
            f"hub:{hub['hub_id']}",
            {
                "hub_id": hub["hub_id"],
                "name": hub["name"],
                "address": hub["address"],
                "since": since,
                "why": hub_health.why(hub),
            },
            now,
            unit_id=hub["unit_id"],
        )
        raised += 1
    return raised


def on_status(rt: Runtime, hub_id: int, online: bool, now: int) -> None:
    """A status arrived: back online resolves the hub's alert; offline is checked at once."""
    if not online:
        if rt.settings.hub_offline_s == 0:
            check_hubs(rt, now)
        return
    s = rt.store
    with s.tx():
        open_alert = s.open_alert_by_key(f"hub_offline:hub:{hub_id}")
        if open_alert is None:
            return
        s.update(
            "alerts",
            "id",
            open_alert["id"],
            {"status": "resolved", "resolved_at": now, "note": "基站已恢复在线 / hub back online"},
        )
        s.audit(SYSTEM, "alert.resolve", "alert", open_alert["id"], {"hub_id": hub_id}, at=now)
    log.info("hub %d back online: alert %d resolved", hub_id, open_alert["id"])
    broadcast(rt, int(open_alert["id"]), "resolved")
