"""Stage-act forms in real headless Chromium: documents received, 销假 (late), change of
residence, Art. 47 arrest request and the court's decision, rulings on proposals."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from cloud.domain import deadlines as dl
from cloud.services.common import local_date
from cloud.testkit import PASSWORD, LiveCloud, chromium, id_number


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


def login(browser: Any, live: LiveCloud, user: str) -> Page:
    page: Page = browser.new_page()
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{live.url}/")
    return page


def today(live: LiveCloud) -> dt.date:
    return local_date(int(time.time() + live.offset))


def test_documents_received_late_are_shown_against_the_authority(
    live: LiveCloud, browser: Any
) -> None:
    day = today(live)
    effective = day - dt.timedelta(days=20)
    case_id = live.open_case(
        "notified",
        id_number=id_number(31),
        effective_on=effective.isoformat(),
        term_start=effective.isoformat(),
        notice_received_on=(effective + dt.timedelta(days=2)).isoformat(),
        documents_pending=True,
    )
    due = dl.documents_due(effective, live.rt.calendar)[1].due
    late = (day - due).days
    assert late > 0
    page = login(browser, live, "office")
    # The authority's overdue duty is on the dashboard, marked as the authority's.
    row = page.locator("#dash-deadlines tr.dl-documents.party-authority")
    expect(row).to_contain_text("决定机关")
    page.goto(f"{live.url}/cases/{case_id}")
    docs = page.locator("#authority-deadlines tr.dl-documents .state")
    expect(docs).to_contain_text(f"未完成 逾期 {late} 日")
    expect(page.locator("#authority-deadlines tr.dl-authority_notice .state")).to_contain_text(
        "完成于"
    )
    page.click("text=登记法律文书送达")
    form = page.locator("form[action$='/documents']")
    expect(form.locator("input[name=received_on]")).to_have_value(day.isoformat())
    form.locator("button").click()
    expect(docs).to_contain_text(f"完成于 {day.isoformat()} 逾期 {late} 日")
    expect(page.locator("form[action$='/documents']")).to_have_count(0)
    page.close()


def test_late_return_from_leave_through_the_form(live: LiveCloud, browser: Any) -> None:
    case_id = live.open_case(id_number=id_number(32))
    office = live.login("office")
    start = today(live)
    r = live.http.post(
        f"/api/v1/cases/{case_id}/leave",
        headers=office,
        json={
            "starts_on": start.isoformat(),
            "ends_on": (start + dt.timedelta(days=2)).isoformat(),
            "destination": "西安",
            "reason": "探亲",
        },
    )
    leave_id = r.json()["id"]
    live.http.post(
        f"/api/v1/leave/{leave_id}/decision", headers=office, json={"approve": True}
    ).raise_for_status()
    live.offset += 5 * 86400  # back three days after the leave's last day
    try:
        page = login(browser, live, "office")
        page.goto(f"{live.url}/cases/{case_id}")
        # 普管: every 14 days by default; five days in, the next check-in is not yet overdue.
        expect(page.locator("#next-checkin")).to_contain_text("下次报告截止")
        expect(page.locator("#next-checkin")).not_to_have_class("bad")
        row = page.locator(f"tr.leave[data-id='{leave_id}']")
        row.locator("summary", has_text="销假").click()
        row.locator("button").click()
        expect(page.locator("#error-message")).to_contain_text("逾期返回须说明原因")
        page.goto(f"{live.url}/cases/{case_id}")
        row.locator("summary", has_text="销假").click()
        row.locator("input[name=note]").fill("山体滑坡，道路中断")
        row.locator("button").click()
        expect(row.locator(".state")).to_contain_text("逾期 3 日")
        expect(page.locator(".warn")).to_contain_text("训诫")
        page.close()
    finally:
        live.offset -= 5 * 86400


def test_move_within_the_county_requested_and_approved(live: LiveCloud, browser: Any) -> None:
    case_id = live.open_case(id_number=id_number(33))
    page = login(browser, live, "office")
    page.goto(f"{live.url}/cases/{case_id}")
    page.click("text=申请迁居")
    form = page.locator("form[action$='/residence']")
    form.locator("select[name=to_village_id]").select_option(label="河西村")
    form.locator("input[name=new_address]").fill("河西村5组12号")
    form.locator("input[name=moves_on]").fill(today(live).isoformat())
    form.locator("textarea[name=reason]").fill("随子女居住")
    form.locator("button").click()
    expect(page.locator("#residence tr.residence .state")).to_have_text("待审批")
    expect(page.locator("#residence tr.residence form")).to_have_count(0)  # office cannot approve
    page.close()
    page = login(browser, live, "county_head")
    page.goto(f"{live.url}/cases/{case_id}")
    page.locator("#residence tr.residence").get_by_role("button", name="批准", exact=True).click()
    expect(page.locator("#residence tr.residence .state")).to_have_text("已批准")
    expect(page.locator("#deadlines tr.dl-residence_report")).to_contain_text("迁居后报到")
    expect(page.locator("text=东关村 → 河西村")).to_be_visible()
    page.close()
    page = login(browser, live, "office")
    response = page.goto(f"{live.url}/cases/{case_id}")
    assert response is not None and response.status == 404  # now the other 司法所's case
    page.close()


def test_arrest_request_court_decision_and_ruling(live: LiveCloud, browser: Any) -> None:
    case_id = live.open_case(id_number=id_number(34))
    office = live.login("office")
    sanction = live.http.post(
        f"/api/v1/cases/{case_id}/sanctions",
        headers=office,
        json={"kind": "revoke_probation", "reason": "两次警告仍不改正", "evidence": ["警告书"]},
    ).json()
    head = live.login("county_head")
    live.http.post(
        f"/api/v1/sanctions/{sanction['id']}/decision", headers=head, json={"approve": True}
    ).raise_for_status()
    page = login(browser, live, "county_head")
    page.goto(f"{live.url}/cases/{case_id}")
    row = page.locator(f"tr.sanction[data-id='{sanction['id']}']")
    row.locator("summary", has_text="提请逮捕").click()
    arrest = row.locator("form[action$='/arrest']")
    expect(arrest.locator("input[name=court]")).to_have_value("示范县人民法院")
    arrest.locator("select[name=ground]").select_option("flight")
    arrest.locator("textarea[name=facts]").fill("已购买出省车票")
    arrest.locator("button").click()
    requests = page.locator("#arrest-requests tr.arrest-request")
    expect(requests.locator(".due")).to_be_visible()
    expect(page.locator("#deadlines tr.dl-arrest_decision")).to_contain_text("48")
    requests.locator("summary").click()
    decision = requests.locator("form")
    decision.locator("select[name=arrested]").select_option("true")
    decision.locator("input[name=document_no]").fill("(2026)示刑捕1号")
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))) + dt.timedelta(seconds=live.offset)
    decision.locator("input[name=decided_at]").fill(now.strftime("%Y-%m-%dT%H:%M"))
    decision.locator("button").click()
    expect(requests.locator(".state")).to_contain_text("arrested")
    expect(page.locator("#deadlines tr.dl-custody_limit")).to_contain_text("羁押期限")
    row.locator("summary", has_text="登记裁定").click()
    ruling = row.locator("form[action$='/ruling']")
    ruling.locator("select[name=outcome]").select_option("granted")
    ruling.locator("input[name=document_no]").fill("(2026)示刑更1号")
    ruling.locator("input[name=ruled_on]").fill(today(live).isoformat())
    ruling.locator("button").click()
    expect(row.locator(".state")).to_contain_text("(2026)示刑更1号")
    expect(page.locator("#deadlines tr.dl-custody_limit")).to_have_class(
        "deadline dl-custody_limit done"
    )
    page.close()
