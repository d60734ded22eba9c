"""When a hub counts as offline: its last will or final status says so, or it fell silent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def down_since(hub: Mapping[str, Any], now: int, silence_s: int) -> int | None:
    """The moment a hub went away, or None while it is up or before it ever reported.

    A hub that has never sent a status is not installed yet, not offline. A hub that said
    offline went away then; one that still says online but has sent nothing for `silence_s`
    (it reports every 30 s) went away after its last status.
    """
    last = hub.get("last_seen")
    if last is None:
        return None
    if not hub.get("online"):
        return int(hub.get("offline_since") or last)
    return int(last) if now - int(last) >= silence_s else None


def offline_alert_due(hub: Mapping[str, Any], now: int, after_s: int) -> bool:
    """True once a hub has been away for `after_s` (a reboot or a short outage stays quiet)."""
    since = down_since(hub, now, after_s)
    return since is not None and now - since >= after_s


def why(hub: Mapping[str, Any]) -> str:
    """Words for the alert: the hub said goodbye (last will / clean stop) or went silent."""
    if not hub.get("online"):
        return "said offline (last will or clean stop) / 上报离线（遗嘱消息或正常停止）"
    return "no status / 无状态上报"
