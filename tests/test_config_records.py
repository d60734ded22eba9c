"""Per-band retained records: the cloud's builders and diff, the hub's parser and merge."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from cloud import hubconfig
from hub import cloudconfig
from hub.service import HubService
from protocol import topics
from simulators.fleet_hub import hub_settings

KEY = bytes(range(32))


def _hub(hub_id: int, name: str = "城关") -> dict[str, Any]:
    return {"hub_id": hub_id, "name": name}


def _band(band_id: int, key: bytes = KEY, **kw: Any) -> dict[str, Any]:
    return {"band_id": band_id, "public_key": key, "sos_location": 0, "epoch": 0, **kw}


def _plan(bands: list[dict[str, Any]], until: dict[int, int] | None = None, gen: int = 5) -> Any:
    return hubconfig.plan([_hub(12), _hub(13)], bands, until or {}, 60, gen)


def test_an_enrolment_is_one_small_record_for_every_hub() -> None:
    before = _plan([_band(b) for b in range(1, 501)])
    after = _plan([_band(b) for b in range(1, 502)])
    out, restamp = hubconfig.changes(before, after)
    assert [t for t, _ in out] == [topics.band(501)] and not restamp
    record = json.loads(out[0][1])
    assert record["band_id"] == 501 and record["public_key"] == KEY.hex()
    assert record["generation"] == 5 and len(out[0][1]) < 200
    assert hubconfig.changes(after, after) == ([], [])


def test_removal_permission_and_settings_changes() -> None:
    before = _plan([_band(1), _band(2)])
    after = _plan([_band(2)], until={2: 1000})
    out, _ = hubconfig.changes(before, after)
    assert (topics.band(1), hubconfig.REMOVED) in out
    assert json.loads(dict(out)[topics.band(2)])["presence_until"] == 1000
    renamed = hubconfig.plan([_hub(12, "东关"), _hub(13)], [_band(2)], {2: 1000}, 60, 5)
    out, restamp = hubconfig.changes(after, renamed)
    assert out == [] and restamp == [12]
    stamped = json.loads(hubconfig.stamp(renamed.settings[12], 9, 1234))
    assert stamped == {
        "version": 9,
        "issued_at": 1234,
        "hub_id": 12,
        "name": "东关",
        "presence_interval_s": 60,
        "generation": 5,
    }
    # A hub gone: its settings are deleted at the broker; the county's records stay.
    out, _ = hubconfig.changes(after, hubconfig.Plan({13: after.settings[13]}, after.bands))
    assert out == [(topics.config(12), "")]


def test_a_full_publication_sends_every_record_once_before_the_settings() -> None:
    out, restamp = hubconfig.changes(hubconfig.Plan(), _plan([_band(1), _band(2)], gen=6))
    assert [t for t, _ in out] == [topics.band(1), topics.band(2)] and restamp == [12, 13]
    assert all(json.loads(p)["generation"] == 6 for _, p in out)


def _record(band_id: int, gen: int, until: int = 0, key: bytes = KEY) -> bytes:
    return hubconfig.band_record(_band(band_id, key), until, gen).encode()


def _settings(version: int, gen: int) -> bytes:
    return hubconfig.stamp(hubconfig.settings(_hub(12), 60, gen), version, 1).encode()


def _one(cfg: Any, band_id: int, entry: Any) -> Any:
    return cloudconfig.with_bands(cfg, 12, {band_id: entry})


def test_hub_merges_records_and_drops_leftovers_of_an_earlier_generation() -> None:
    cfg = None
    for b in (1, 2):
        entry = cloudconfig.parse_band(_record(b, 5, until=2000), b)
        cfg = _one(cfg, b, entry)
    assert cfg is not None and cfg.version == 0 and set(cfg.keys()) == {1, 2}
    assert cfg.presence_allowed(1, 1999) and not cfg.presence_allowed(1, 2000)
    settings = cloudconfig.parse(_settings(3, 5), 12)
    assert not settings.complete and cloudconfig.newer(cfg, settings)
    cfg = cloudconfig.with_settings(cfg, settings)
    assert cfg.version == 3 and set(cfg.bands) == {1, 2}
    # The same record again changes nothing: the very same object comes back.
    assert _one(cfg, 1, cloudconfig.parse_band(_record(1, 5, 2000), 1)) is cfg
    # Permission ends: presence stops with that one record.
    cfg = _one(cfg, 1, cloudconfig.parse_band(_record(1, 5), 1))
    assert not cfg.presence_allowed(1, 0)
    # A new generation: band 2 was not sent again, so it is a leftover and goes.
    cfg = _one(cfg, 1, cloudconfig.parse_band(_record(1, 6), 1))
    cfg = cloudconfig.with_settings(cfg, cloudconfig.parse(_settings(4, 6), 12))
    assert set(cfg.bands) == {1}
    # A leftover arriving later is ignored; an empty record removes.
    assert 2 not in _one(cfg, 2, cloudconfig.parse_band(_record(2, 5), 2)).bands
    assert cloudconfig.parse_band(b"", 1) is None
    assert _one(cfg, 1, None).bands == {}
    assert cloudconfig.without_bands(cfg).bands == {}  # type: ignore[union-attr]


def test_saved_form_reads_back_and_inline_bands_are_the_whole_set() -> None:
    cfg = _one(None, 7, cloudconfig.parse_band(_record(7, 5, 900), 7))
    cfg = cloudconfig.with_settings(cfg, cloudconfig.parse(_settings(3, 5), 12))
    again = cloudconfig.parse(cloudconfig.dump(cfg), 12)
    assert again.complete and again.bands == cfg.bands and again.version == 3
    assert cloudconfig.with_settings(None, again).bands == cfg.bands


@pytest.mark.parametrize(
    ("payload", "band_id", "why"),
    [
        (b"{", 1, "not JSON"),
        (b"[]", 1, "object"),
        (b'{"band_id": 1, "public_key": "ab"}', 1, "public_key"),
        (b'{"band_id": 2, "public_key": "' + KEY.hex().encode() + b'"}', 1, "band 1's topic"),
        (
            b'{"band_id": 1, "public_key": "' + KEY.hex().encode() + b'", "generation": -1}',
            1,
            "gen",
        ),
    ],
)
def test_bad_band_records_are_refused(payload: bytes, band_id: int, why: str) -> None:
    with pytest.raises(cloudconfig.ConfigError, match=why):
        cloudconfig.parse_band(payload, band_id)


def test_topics_of_band_records() -> None:
    assert topics.band(66051) == "sqjz/v1/county/bands/66051"
    assert topics.band_of_record(topics.band(66051)) == 66051
    assert topics.band_of_record(topics.down(12, 66051)) is None
    assert topics.band_of_record("sqjz/v1/hubs/12/bands/66051") is None  # per-hub, before
    assert topics.band_of_record("sqjz/v1/county/bands/x") is None
    assert topics.band_of_down(topics.down(12, 66051)) == 66051
    assert topics.COUNTY_BANDS_FILTER == "sqjz/v1/county/bands/+"


def test_a_new_key_epoch_restarts_the_hubs_replay_window(tmp_path: Path) -> None:
    async def scenario() -> None:
        hub = HubService(hub_settings(12, str(tmp_path), 1883, "pw"))

        async def record(payload: bytes, band_id: int) -> None:
            hub.records.band_record(payload, band_id)
            await asyncio.sleep(0)  # records are applied together on the next turn

        await record(_record(7, 5), 7)
        hub.intake.windows[7] = (100, 1)
        await record(_record(7, 5, until=5), 7)  # same key, new permission: window kept
        assert hub.intake.windows[7] == (100, 1)
        rekeyed = _band(7, bytes(reversed(range(32))), epoch=1)
        await record(hubconfig.band_record(rekeyed, 0, 5).encode(), 7)
        assert 7 not in hub.intake.windows and hub.cloud is not None
        assert hub.cloud.bands[7].key_epoch == 1
        assert hub.intake.keyring.get(7) == bytes(reversed(range(32)))
        hub.store.close()

    asyncio.run(scenario())


def test_a_burst_of_band_records_is_applied_once_and_keys_follow(tmp_path: Path) -> None:
    async def scenario() -> None:
        hub = HubService(hub_settings(12, str(tmp_path), 1883, "pw"))
        applied: list[int] = []
        real = hub.records.apply

        def counting(cfg: Any, changed: Any = None) -> None:
            applied.append(len(cfg.bands) if cfg else 0)
            real(cfg, changed)

        hub.records.apply = counting  # type: ignore[method-assign]
        for b in range(1, 301):
            hub.records.band_record(_record(b, 5), b)
        hub.records.band_record(b"", 300)  # the last word on a band wins: removed
        hub.records.band_record(b"{not json", 301)  # refused, the others still applied
        await asyncio.sleep(0)
        assert applied == [299]
        assert len(hub.intake.keyring) == 299 and 300 not in hub.intake.keyring
        hub.records.band_record(b"", 5)
        await asyncio.sleep(0)
        assert 5 not in hub.intake.keyring and len(hub.intake.keyring) == 298
        hub.store.close()

    asyncio.run(scenario())
