"""Connection scheduling: SOS first, bounded slots, growing backoff, storm pause (pure)."""

from __future__ import annotations

import itertools
import random

from hypothesis import given
from hypothesis import strategies as st

from hub.schedule import Scheduler, ScheduleSettings, Sighting, backoff_delay, visit_urgency
from protocol import gatt


def _sched(**kw: float) -> Scheduler:
    return Scheduler(ScheduleSettings(**kw), rng=random.Random(1))  # type: ignore[arg-type]


def test_sos_band_is_connected_first_even_when_weaker() -> None:
    s = _sched(slots=4, max_connecting=1)
    s.heard(Sighting(1, "a", -40, gatt.ADV_FRAMES_QUEUED, 100.0))
    s.heard(Sighting(2, "b", -90, gatt.ADV_SOS_PENDING | gatt.ADV_FRAMES_QUEUED, 100.0))
    s.heard(Sighting(3, "c", -50, 0, 100.0))
    assert s.due(100.0) == [2]


def test_order_sos_then_downlink_then_queued_then_routine_by_rssi() -> None:
    s = _sched(slots=10, max_connecting=10)
    s.heard(Sighting(1, "a", -70, 0, 0.0))
    s.heard(Sighting(2, "b", -60, gatt.ADV_FRAMES_QUEUED, 0.0))
    s.heard(Sighting(3, "c", -80, 0, 0.0))
    s.heard(Sighting(4, "d", -99, gatt.ADV_SOS_PENDING, 0.0))
    s.heard(Sighting(5, "e", -50, 0, 0.0))
    assert s.due(1.0, pending_downlinks={3}) == [4, 3, 2, 5, 1]


def test_slots_bound_connections_and_quiet_visited_bands_wait() -> None:
    s = _sched(slots=2, max_connecting=2, visit_interval_s=300)
    for b in range(1, 6):
        s.heard(Sighting(b, str(b), -60, gatt.ADV_FRAMES_QUEUED, 0.0))
    first = s.due(0.0)
    assert len(first) == 2
    for b in first:
        s.connecting(b)
        s.connected(b, 0.0)
    assert s.due(0.0) == []  # both slots busy
    s.disconnected(first[0], 1.0)
    assert len(s.due(5.0)) == 1
    # A visited band with nothing queued is not visited again before visit_interval_s.
    s.heard(Sighting(first[0], "x", -60, 0, 5.0))
    assert first[0] not in s.due(5.0)


def test_out_of_range_bands_are_not_chosen() -> None:
    s = _sched(seen_ttl_s=30)
    s.heard(Sighting(1, "a", -60, gatt.ADV_SOS_PENDING, 0.0))
    assert s.due(31.0) == []


def test_backoff_grows_then_caps() -> None:
    delays = [backoff_delay(n, 2.0, 300.0, 1.0) for n in range(1, 12)]
    assert delays[:4] == [2.0, 4.0, 8.0, 16.0]
    assert max(delays) == 300.0
    assert all(a <= b for a, b in itertools.pairwise(delays))


@given(st.integers(1, 60), st.floats(0, 1))
def test_backoff_jitter_stays_between_half_and_full_step(n: int, r: float) -> None:
    full = backoff_delay(n, 2.0, 300.0, 1.0)
    assert full / 2 <= backoff_delay(n, 2.0, 300.0, r) <= full


def test_failed_band_waits_out_its_backoff_and_storm_pauses_everyone() -> None:
    s = _sched(storm_failures=3, storm_pause_s=30, max_connecting=1, slots=4)
    for b in (1, 2, 3, 4):
        s.heard(Sighting(b, str(b), -60, gatt.ADV_FRAMES_QUEUED, 0.0))
    now = 0.0
    delays = []
    for _ in range(3):
        (b,) = s.due(now)
        s.connecting(b)
        delays.append(s.failed(b, now))
        assert b not in s.due(now)  # backing off
    assert s.paused_until == now + 30
    assert s.due(now + 29) == []
    s.heard(Sighting(4, "4", -60, gatt.ADV_FRAMES_QUEUED, now + 31))
    assert s.due(now + 31) == [4]


def test_success_resets_backoff() -> None:
    s = _sched()
    s.heard(Sighting(1, "a", -60, gatt.ADV_FRAMES_QUEUED, 0.0))
    for _ in range(4):
        s.connecting(1)
        s.failed(1, 0.0)
    assert s.links[1].failures == 4
    s.connecting(1)
    s.connected(1, 100.0)
    assert s.links[1].failures == 0 and s.failures_in_row == 0


def test_visit_urgency_leaves_idle_bands_alone() -> None:
    assert visit_urgency(0, False, False) is None
    assert visit_urgency(gatt.ADV_UNENROLLED, False, True) == 3
