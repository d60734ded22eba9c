"""How long each kind of data is kept, and the cut-off the expiry job deletes below."""

from __future__ import annotations

from typing import NamedTuple

DAY = 86400


class Retention(NamedTuple):
    """Days to keep each data kind (PIPL Art. 19: no longer than the purpose needs)."""

    frames_days: int = 3 * 365
    presence_days: int = 90
    sessions_days: int = 30
    security_days: int = 5 * 365


KINDS = {
    "frames": "腕带签名帧 (evidence)",
    "presence": "位置/在场记录 (Art. 29 data)",
    "sessions": "登录会话",
    "security": "安全事件",
}


def cutoff(kind: str, now: int, policy: Retention) -> int:
    """UTC seconds: rows of this kind older than this are deleted."""
    days = {
        "frames": policy.frames_days,
        "presence": policy.presence_days,
        "sessions": policy.sessions_days,
        "security": policy.security_days,
    }[kind]
    return now - days * DAY
