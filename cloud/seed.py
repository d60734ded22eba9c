"""A sample county (units, one account per role, a hub) for the demo and the tests."""

from __future__ import annotations

from typing import Any

from cloud import models
from cloud.domain.roles import SYSTEM
from cloud.runtime import Runtime
from cloud.services import devices, oversight


def sample_county(rt: Runtime, password: str, hub_id: int = 12) -> dict[str, Any]:
    """A county with two 司法所, villages, a procuratorate, accounts and a hub; return ids."""
    u: dict[str, int] = {}

    def unit(key: str, kind: str, name: str, parent: str | None, **kw: Any) -> None:
        body = models.UnitCreate.model_validate(
            {"kind": kind, "name": name, "parent_id": u[parent] if parent else None, **kw}
        )
        u[key] = oversight.create_unit(rt, SYSTEM, body)

    unit("county", "county", "示范县司法局", None)
    unit("office", "office", "城关司法所", "county")
    unit("village", "village", "东关村", "office")
    unit("office_b", "office", "河西司法所", "county")
    unit("village_b", "village", "河西村", "office_b")
    unit("procuratorate", "procuratorate", "示范县人民检察院", "county")
    unit("police", "police", "城关派出所", "county")
    accounts = {
        "admin": ("admin", None),
        "county_head": ("county_head", "county"),
        "office": ("office", "office"),
        "office_b": ("office", "office_b"),
        "village": ("village", "village"),
        "procuratorate": ("procuratorate", "procuratorate"),
    }
    users = {}
    for name, (role, unit_key) in accounts.items():
        users[name] = oversight.create_user(
            rt,
            SYSTEM,
            models.UserCreate.model_validate(
                {
                    "username": name,
                    "display_name": name,
                    "role": role,
                    "password": password,
                    "unit_id": u[unit_key] if unit_key else None,
                }
            ),
        )
    hub = devices.create_hub(
        rt,
        SYSTEM,
        models.HubCreate(
            hub_id=hub_id,
            name="城关司法所",
            unit_id=u["village"],
            lat=34.2658,
            lon=108.9541,
            address="城关镇东关村委会",
        ),
    )
    return {"units": u, "users": users, "hub_id": hub_id, "hub_token": hub["api_token"]}
