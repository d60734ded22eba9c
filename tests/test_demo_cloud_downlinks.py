"""The cloud tells a new band the time and, at hand-over, its wearer (time_sync, profile)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from cloud.domain import wearer
from cloud.settings import Settings
from cloud.testkit import BandSim, County
from protocol import downlink

BAND = 66051
TOPIC = f"sqjz/v1/hubs/12/down/{BAND}"


@pytest.fixture()
def county() -> Iterator[County]:
    c = County()
    yield c
    c.close()


def _capture(county: County) -> list[tuple[str, Any]]:
    published: list[tuple[str, Any]] = []
    county.rt.publish = lambda topic, payload, retain=False: published.append((topic, payload))  # type: ignore[method-assign]
    return published


def _accepted(band: BandSim, published: list[tuple[str, Any]]) -> list[downlink.Downlink]:
    """What the band itself accepts, in order (its own window, its own key)."""
    assert band.dl_key is not None
    state: Any = (-1, 0)
    out = []
    for topic, raw in published:
        if topic == TOPIC:
            msg, state = downlink.accept(raw, band.dl_key, BAND, state)
            out.append(msg)
    return out


def _supervised_with_band(county: County) -> tuple[BandSim, int]:
    case_id = county.open_case("supervising")
    band = BandSim(BAND)
    county.enrol(band)
    person = county.call("office", "GET", f"/api/v1/cases/{case_id}").json()["person_id"]
    return band, int(person)


def test_enrolment_sends_the_band_the_time(county: County) -> None:
    published = _capture(county)
    band = BandSim(BAND)
    county.enrol(band)
    msgs = _accepted(band, published)
    assert [m.type_name for m in msgs] == ["time_sync"]
    assert msgs[0].cloud_time == int(county.now) and msgs[0].fields == {"tz_offset_min": 480}


def test_hand_over_sends_config_time_and_the_wearers_profile(county: County) -> None:
    band, person = _supervised_with_band(county)
    published = _capture(county)
    r = county.call(
        "county_head",
        "POST",
        f"/api/v1/bands/{BAND}/assign",
        json={"person_id": person, "weight_kg": 72, "rest_hr": 64},
    )
    assert r.status_code == 200, r.text
    msgs = _accepted(band, published)
    assert [m.type_name for m in msgs] == ["config", "time_sync", "profile"]
    assert msgs[0].fields["activity_s"] == 300 and msgs[0].fields["heartbeat_s"] == 600
    # 张三, ID 11010519491231002X: born 1949-12-31, 75 on 2025-11-30; male.
    assert msgs[2].fields == {"sex": 1, "age": 75, "weight_kg": 72, "rest_hr": 64}
    audit = [
        a
        for a in county.call("county_head", "GET", "/api/v1/audit").json()
        if a["action"] == "band.assign"
    ]
    detail = audit[-1]["detail"]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail == {"person_id": person, "sos_location": False, "profile": True}


def test_without_weight_no_profile_is_guessed(county: County) -> None:
    band, person = _supervised_with_band(county)
    published = _capture(county)
    county.call("admin", "POST", f"/api/v1/bands/{BAND}/assign", json={"person_id": person})
    assert [m.type_name for m in _accepted(band, published)] == ["config", "time_sync"]


def test_an_impossible_weight_is_refused_and_assigns_nothing(county: County) -> None:
    _band, person = _supervised_with_band(county)
    published = _capture(county)
    r = county.call(
        "admin",
        "POST",
        f"/api/v1/bands/{BAND}/assign",
        json={"person_id": person, "weight_kg": 7, "rest_hr": 64},
    )
    assert r.status_code == 422 and "weight_kg" in r.json()["detail"]
    assert county.rt.store.band(BAND)["person_id"] is None and not published


def test_reporting_periods_come_from_the_settings() -> None:
    county = County({"band_activity_s": 60, "band_heartbeat_s": 90})
    try:
        band, person = _supervised_with_band(county)
        published = _capture(county)
        county.call("admin", "POST", f"/api/v1/bands/{BAND}/assign", json={"person_id": person})
        config = _accepted(band, published)[0]
        assert (config.fields["activity_s"], config.fields["heartbeat_s"]) == (60, 90)
    finally:
        county.close()
    with pytest.raises(ValidationError, match="band_activity_s"):
        Settings(band_activity_s=30)  # the band would refuse it (60..3600)


def test_profile_fields_rules() -> None:
    today = dt.date(2026, 11, 30)
    person = {"gender": "female", "id_number": "610102198012010016", "birth_date": None}
    assert wearer.birth_date(person) == dt.date(1980, 12, 1)
    assert wearer.profile_fields(person, 60, 70, today) == {
        "sex": 2,
        "age": 45,  # the birthday is tomorrow
        "weight_kg": 60,
        "rest_hr": 70,
    }
    assert wearer.profile_fields({**person, "birth_date": "1980-11-30"}, 60, 70, today)["age"] == 46  # type: ignore[index]
    assert wearer.profile_fields({**person, "gender": "other"}, 60, 70, today) is None
    assert wearer.profile_fields(person, None, 70, today) is None
    assert wearer.profile_fields({**person, "birth_date": "2020-01-01"}, 60, 70, today) is None
    assert wearer.profile_fields({"gender": "male", "id_number": "bad"}, 60, 70, today) is None
