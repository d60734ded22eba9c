"""Rules for administering accounts: who may be disabled, and temporary passwords."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Any

# No look-alike characters (0/O, 1/l/I): a temporary password is read out or written down.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


class AccountError(ValueError):
    """An account change the rules refuse; the message says why."""


def check_disable(actor_id: int | None, user: Mapping[str, Any], enabled_admins: int) -> None:
    """Nobody disables their own account, and the last enabled administrator stays."""
    if user["id"] == actor_id:
        raise AccountError("you cannot disable your own account / 不能停用自己的账号")
    if user["disabled"]:
        raise AccountError("the account is already disabled / 账号已停用")
    if user["role"] == "admin" and enabled_admins <= 1:
        raise AccountError("the last administrator cannot be disabled / 不能停用最后一个管理员")


def temporary_password(rand: secrets.SystemRandom | None = None) -> str:
    """A 14-character password with letters and digits, to be changed at the next login."""
    rand = rand or secrets.SystemRandom()
    while True:
        word = "".join(rand.choice(_ALPHABET) for _ in range(14))
        if any(c.isdigit() for c in word) and any(c.isalpha() for c in word):
            return word
