"""Every role against every route, generated from the app's routes: a new route cannot escape it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from cloud.domain.roles import ALL_PERMISSIONS, PERMISSIONS, ROLES, allowed
from cloud.testkit import County

# Streams forever when allowed: its refusals are checked here, its stream by the UI test.
SSE = "/api/v1/events"


def permission_of(route: APIRoute) -> str | None:
    """The permission named by the route's dependency (auth.require / require_hub / public)."""
    stack = list(route.dependant.dependencies)
    found = []
    while stack:
        dep = stack.pop()
        perm = getattr(dep.call, "permission", None)
        if perm is not None:
            found.append(perm)
        stack.extend(dep.dependencies)
    assert len(found) == 1, f"{route.path} names {found or 'no'} permission"
    return found[0]


@pytest.fixture(scope="module")
def county() -> Iterator[County]:
    c = County()
    c.open_case("supervising")
    yield c
    c.close()


def api_routes(items: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, looking inside included routers (newer FastAPI wraps them)."""
    for r in items:
        if isinstance(r, APIRoute):
            yield r
        elif getattr(r, "original_router", None) is not None:
            yield from api_routes(list(r.original_router.routes))


def routes(county: County) -> list[tuple[str, str, str]]:
    out = []
    for r in api_routes(list(county.app.routes)):
        if True:
            for method in sorted(r.methods - {"HEAD"}):
                out.append((method, r.path, permission_of(r)))
    return out


def test_every_route_names_a_known_permission(county: County) -> None:
    table = routes(county)
    assert len(table) > 50
    for method, path, perm in table:
        assert perm in ALL_PERMISSIONS, (method, path, perm)
    # Every permission a role holds is used by some route (no dead grants).
    used = {perm for _m, _p, perm in table}
    assert set().union(*PERMISSIONS.values()) <= used


def _fill(path: str) -> str:
    return re.sub(r"\{action\}", "report", re.sub(r"\{[a-z_]+_id\}", "999999", path))


def test_every_role_against_every_route(county: County) -> None:
    users = {"person": None, **{r: r for r in ROLES if r != "person"}}
    # A supervised person's account, so that role is exercised too.
    case_id = county.call("office", "GET", "/api/v1/cases").json()[0]["id"]
    county.call(
        "office", "POST", f"/api/v1/cases/{case_id}/account", json={"password": "person-pass-1"}
    )
    id_number = county.call("office", "GET", f"/api/v1/cases/{case_id}").json()["id_number"]
    checked = 0
    for method, path, perm in routes(county):
        url = _fill(path)
        kw: dict[str, Any] = {"follow_redirects": False}
        if method in ("POST", "PUT", "PATCH"):
            kw["json"] = {}
        # Anonymous: API answers 401, pages redirect to the login page.
        if perm != "public":
            r = county.client.request(method, url, **kw)
            expect = 401 if path.startswith("/api/") else 303
            assert r.status_code == expect, (method, path, "anonymous", r.status_code)
        for role in ROLES:
            if perm == "public" or (path == SSE and allowed(role, perm)):
                continue
            user = id_number if role == "person" else users[role]
            headers = _login(county, user, role)
            r = county.client.request(method, url, headers=headers, **kw)
            if perm == "hub.enrol":
                assert r.status_code == 401, (
                    method,
                    path,
                    role,
                )  # a user session is not a hub token
            elif allowed(role, perm):
                assert r.status_code not in (401, 403), (
                    method,
                    path,
                    role,
                    r.status_code,
                    r.text[:200],
                )
            else:
                assert r.status_code == 403, (method, path, role, r.status_code, r.text[:200])
            checked += 1
            if path.endswith("/logout") and r.status_code < 400:
                _tokens.pop(role, None)
    assert checked > 300
    # And the hub's token opens exactly the hub routes.
    hub = {"authorization": "Bearer " + county.ids["hub_token"]}
    for method, path, perm in routes(county):
        if perm in ("public",) or path == SSE:
            continue
        r = county.client.request(
            method,
            _fill(path),
            headers=hub,
            json={} if method == "POST" else None,
            follow_redirects=False,
        )
        if perm == "hub.enrol":
            assert r.status_code == 422, (method, path)
        else:
            assert r.status_code in (401, 303), (method, path, r.status_code)


_tokens: dict[str, dict[str, str]] = {}


def _login(county: County, user: str | None, role: str) -> dict[str, str]:
    if role not in _tokens:
        r = county.client.post(
            "/api/v1/auth/login",
            json={
                "username": user,
                "password": "person-pass-1" if role == "person" else "test-pass-2026",
            },
        )
        assert r.status_code == 200, r.text
        county.client.cookies.clear()
        token = r.json()["token"]
        _tokens[role] = {"authorization": f"Bearer {token}"}
    return _tokens[role]
