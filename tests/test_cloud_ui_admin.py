"""Administration pages in real headless Chromium: accounts, units, hubs, bands and key epochs,
and the forced change of a temporary password."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from cloud.testkit import PASSWORD, BandSim, LiveCloud, chromium, id_number


@pytest.fixture(scope="module")
def live() -> Iterator[LiveCloud]:
    with LiveCloud({"mqtt_enabled": False, "jobs_interval_s": 3600}) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = chromium(p)
        yield b
        b.close()


def login(browser: Any, live: LiveCloud, user: str, password: str = PASSWORD) -> Page:
    page: Page = browser.new_page()
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("#login-submit")
    return page


def test_accounts_and_the_forced_password_change(live: LiveCloud, browser: Any) -> None:
    page = login(browser, live, "admin")
    page.wait_for_url(f"{live.url}/")
    page.click("nav >> text=账号")
    form = page.locator("form[action='/ui/admin/users']")
    form.locator("input[name=username]").fill("hexi-clerk")
    form.locator("input[name=display_name]").fill("河西所文书")
    form.locator("select[name=role]").select_option("office")
    form.locator("select[name=unit_id]").select_option(label="河西司法所")
    form.locator("input[name=password]").fill("hexi-clerk-pass-1")
    form.locator("button").click()
    expect(page.locator("tr.user[data-name='hexi-clerk']")).to_contain_text("河西司法所")
    row = page.locator("tr.user[data-name='office_b']")
    row.locator("input[name=reason]").fill("调离")
    row.locator("button", has_text="停用").click()
    expect(row.locator(".state")).to_contain_text("已停用 调离")
    page.locator("tr.user[data-name='village'] button", has_text="重置密码").click()
    temporary = page.locator("#secret").inner_text().strip()
    assert len(temporary) == 14
    expect(page.locator(".warn")).to_contain_text("只显示一次")
    page.goto(f"{live.url}/admin/users?lang=en")
    expect(page.locator("h1")).to_have_text("Accounts")
    expect(page.locator("tr.user[data-name='village'] .state")).to_contain_text(
        "Must change password"
    )
    page.close()
    # The village account must change the temporary password before anything else.
    page = login(browser, live, "village", temporary)
    page.wait_for_url(f"{live.url}/account/password")
    expect(page.locator("#must-change")).to_be_visible()
    page.goto(f"{live.url}/cases")
    page.wait_for_url(f"{live.url}/account/password")
    page.fill("input[name=old_password]", temporary)
    page.fill("input[name=new_password]", "village-new-pass-2")
    page.click("form[action='/account/password'] button")
    expect(page.locator("#password-done")).to_be_visible()
    page.goto(f"{live.url}/cases")
    expect(page.locator("h1")).to_have_text("案件")
    page.close()


def test_units_and_hubs(live: LiveCloud, browser: Any) -> None:
    page = login(browser, live, "admin")
    page.goto(f"{live.url}/admin/units")
    form = page.locator("form[action='/ui/admin/units']")
    form.locator("select[name=kind]").select_option("village")
    form.locator("input[name=name]").fill("西关村")
    form.locator("select[name=parent_id]").select_option(label="城关司法所")
    form.locator("button").click()
    expect(page.locator("#unit-tree li", has_text="西关村")).to_be_visible()
    page.goto(f"{live.url}/admin/hubs")
    form = page.locator("form[action='/ui/admin/hubs']")
    form.locator("input[name=hub_id]").fill("13")
    form.locator("input[name=name]").fill("西关村基站")
    form.locator("select[name=unit_id]").select_option(label="西关村")
    form.locator("input[name=lat]").fill("34.26")
    form.locator("input[name=lon]").fill("108.93")
    form.locator("input[name=address]").fill("西关村委会")
    form.locator("button").click()
    token = page.locator("#secret").inner_text().strip()
    assert len(token) > 30
    page.goto(f"{live.url}/admin/hubs")
    row = page.locator("tr.hub[data-id='13']")
    expect(row).to_contain_text("西关村委会")
    expect(row.locator(".state")).to_contain_text("从未上线")
    row.locator("summary", has_text="修改").click()
    edit = row.locator("form[action='/ui/admin/hubs/13']")
    expect(edit.locator("input[name=name]")).to_have_value("西关村基站")
    edit.locator("input[name=address]").fill("西关村委会三楼")
    edit.locator("button").click()
    expect(row).to_contain_text("西关村委会三楼")
    row.locator("button", has_text="更换接口令牌").click()
    new_token = page.locator("#secret").inner_text().strip()
    assert new_token != token
    probe = {"band_id": 5, "public_key": BandSim(5).public.hex()}
    old = live.http.post(
        "/api/v1/enrolments", json=probe, headers={"authorization": f"Bearer {token}"}
    )
    new = live.http.post(
        "/api/v1/enrolments", json=probe, headers={"authorization": f"Bearer {new_token}"}
    )
    assert (old.status_code, new.status_code) == (401, 201)
    page.close()


def test_bands_handed_over_rekey_authorized_keys_verified(live: LiveCloud, browser: Any) -> None:
    case_id = live.open_case(id_number=id_number(41))
    person_id_number = id_number(41)
    band = BandSim(80001)
    hub = {"authorization": "Bearer " + live.ids["hub_token"]}
    ch = live.http.post(
        "/api/v1/enrolments",
        headers=hub,
        json={"band_id": band.band_id, "public_key": band.public.hex()},
    ).json()
    answer = band.enrol_answer(bytes.fromhex(ch["nonce"]), bytes.fromhex(ch["cloud_public"]))
    live.http.post(
        f"/api/v1/enrolments/{ch['enrolment_id']}/complete",
        headers=hub,
        json={"frame": answer.hex()},
    ).raise_for_status()
    page = login(browser, live, "county_head")
    page.goto(f"{live.url}/admin/bands")
    row = page.locator("tr.band[data-id='80001']")
    row.locator("summary", has_text="发放给对象").click()
    row.locator("input[name=id_number]").fill(person_id_number)
    row.locator("form[action$='/assign'] button").click()
    expect(row.locator(".wearer")).to_have_text("张三")
    assert live.rt.store.band(80001)["person_id"] == live.rt.store.case(case_id)["person_id"]
    row.locator("summary", has_text="授权更换密钥").click()
    row.locator("form[action$='/rekey'] input[name=reason]").fill("外壳破损，更换主板")
    row.locator("form[action$='/rekey'] button").click()
    expect(row.locator(".state")).to_contain_text("已授权更换密钥")
    page.click("a[href='/admin/bands/80001']")
    expect(page.locator("#key-list tr.key")).to_have_count(1)
    page.click("#verify-frames")
    expect(page.locator("#verify-result")).to_contain_text("全部签名有效")
    expect(page.locator("#verify-result")).to_contain_text("已校验 1")
    page.goto(f"{live.url}/admin/bands")
    row.locator("input[name=reason]").first.fill("对象解矫，收回")
    row.locator("button", has_text="停用腕带").click()
    expect(row.locator(".state")).to_contain_text("已停用")
    page.close()
