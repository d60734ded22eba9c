"""The supervisor UI in real headless Chromium: login, pages in both languages, forms, live SOS."""

from __future__ import annotations

from collections.abc import Iterator

import paho.mqtt.client as paho
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from cloud.testkit import PASSWORD, BandSim, LiveCloud, chromium, wrap
from protocol import topics
from simulators.broker import Mosquitto


@pytest.fixture(scope="module")
def cloud() -> Iterator[tuple[LiveCloud, int, BandSim]]:
    with (
        Mosquitto() as broker,
        LiveCloud({"mqtt_port": broker.port, "jobs_interval_s": 3600}) as live,
    ):
        band = BandSim(66051)
        case_id = live.supervised_person_with_band(band)
        yield live, case_id, band


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_playwright() as p:
        b = chromium(p)
        yield b
        b.close()


def login(page: Page, live: LiveCloud, user: str, lang: str = "zh") -> None:
    page.goto(f"{live.url}/login?lang={lang}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{live.url}/")


def test_sos_published_to_mqtt_appears_live_on_the_alert_console(
    cloud: tuple, browser: object
) -> None:
    live, _case_id, band = cloud
    page = browser.new_page()  # type: ignore[attr-defined]
    login(page, live, "office")
    page.goto(f"{live.url}/alerts")
    page.wait_for_selector("body[data-live=on]")  # the event stream is open
    hub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="hub-12-ui")
    hub.connect("127.0.0.1", live.settings.mqtt_port)
    hub.loop_start()
    hub.publish(
        topics.up(12), wrap(12, band.frame("sos", {"sos_id": 42, "reason": 1})), qos=1
    ).wait_for_publish()
    banner = page.locator("#sos-banner")
    expect(banner).to_be_visible(timeout=15000)
    expect(banner).to_contain_text("紧急求助")
    expect(banner).to_contain_text("张三")
    row = page.locator("#alert-rows tr.kind-sos")
    expect(row).to_have_count(1)
    # A repeat of the same alarm folds into the same row.
    hub.publish(
        topics.up(12), wrap(12, band.frame("sos", {"sos_id": 42, "reason": 1, "attempt": 1})), qos=1
    ).wait_for_publish()
    expect(banner).to_contain_text("×2", timeout=15000)
    expect(row).to_have_count(1)
    hub.loop_stop()
    hub.disconnect()
    # Acknowledge and resolve from the console.
    page.reload()
    page.locator("tr.kind-sos button", has_text="确认").click()
    page.fill("tr.kind-sos input[name=note]", "已电话联系，本人安全")
    page.locator("tr.kind-sos button", has_text="处置完毕").click()
    expect(page.locator("#alert-rows tr.kind-sos")).to_have_count(0)
    page.close()


def test_case_page_forms_and_languages(cloud: tuple, browser: object) -> None:
    live, case_id, _band = cloud
    page = browser.new_page()  # type: ignore[attr-defined]
    login(page, live, "office")
    expect(page.locator("#open-cases")).to_have_text("1")
    page.goto(f"{live.url}/cases/{case_id}")
    expect(page.locator("#case-stage")).to_have_text("监督管理")
    expect(page.locator("#presence-none")).to_be_visible()  # no Art. 29 order: nothing shown
    page.click("text=登记报到/走访")
    page.select_option("form[action$='/checkin'] select[name=method]", "visit")
    page.fill("form[action$='/checkin'] input[name=place]", "东关村3组")
    page.click("form[action$='/checkin'] button")
    expect(page.locator("text=东关村3组").first).to_be_visible()
    # Bad input: a leave that ends before it starts gets a clear message, nothing stored.
    page.click("text=申请外出")
    page.fill("form[action$='/leave'] input[name=starts_on]", "2030-05-10")
    page.fill("form[action$='/leave'] input[name=ends_on]", "2030-05-01")
    page.fill("form[action$='/leave'] input[name=destination]", "西安")
    page.fill("form[action$='/leave'] textarea[name=reason]", "探亲")
    page.click("form[action$='/leave'] button")
    expect(page.locator("#error-message")).to_contain_text("ends_on is before starts_on")
    page.goto(f"{live.url}/cases/{case_id}?lang=en")
    expect(page.locator("#case-stage")).to_have_text("Under supervision")
    expect(page.locator("h2", has_text="Electronic positioning")).to_be_visible()
    page.close()


def test_roles_see_their_own_menus(cloud: tuple, browser: object) -> None:
    live, case_id, _band = cloud
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", "procuratorate")
    page.fill("input[name=password]", "wrong-password-1")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_contain_text("用户名或密码错误")
    login(page, live, "procuratorate")
    page.goto(f"{live.url}/audit")
    expect(page.locator("#chain-state")).to_contain_text("哈希链完整")
    page.goto(f"{live.url}/cases/{case_id}")
    expect(page.locator("form[action*='/act/']")).to_have_count(0)  # read-only oversight
    page.close()


def test_assessment_commission_through_the_forms(cloud: tuple, browser: object) -> None:
    live, _case_id, _band = cloud
    page = browser.new_page()  # type: ignore[attr-defined]
    login(page, live, "office")
    page.goto(f"{live.url}/assessments")
    form = page.locator("form[action='/ui/assessments']")
    form.locator("select[name=requester_kind]").select_option("court")
    form.locator("input[name=requester_name]").fill("示范县人民法院")
    form.locator("input[name=request_no]").fill("评估委托2026-7")
    form.locator("input[name=received_on]").fill("2026-11-27")
    form.locator("input[type=checkbox][name=fast_track]").check()
    form.locator("input[name=subject_name]").fill("王五")
    form.locator("input[name=subject_id_number]").fill("610102198001010023")
    form.locator("button").click()
    summary = page.locator("details.assessment summary", has_text="王五")
    expect(summary).to_contain_text("2026-12-04")  # five working days after Fri 27 Nov
    page.close()
