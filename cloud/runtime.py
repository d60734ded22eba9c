"""Everything one running cloud holds: settings, store, calendar, live events, MQTT, jobs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from cloud import hubconfig
from cloud.domain.calendar import Calendar, load_calendar
from cloud.domain.positioning import presence_until
from cloud.live import Live
from cloud.settings import Settings
from cloud.store import Store
from protocol import topics

log = logging.getLogger("sqjz.cloud")


class Runtime:
    """Built by create_app from Settings; nothing here exists at import time."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.store = Store(settings.db_path)
        self.calendar: Calendar = load_calendar()
        self.live = Live()
        self.mqtt: Any = None  # MqttWorker when started
        self.workers: list[Any] = []
        self._anchor_key: Any = None
        self._scope_cache: dict[tuple[str, int | None], frozenset[int]] = {}
        self._scope_version = ""
        self._config_lock = threading.Lock()
        self._published: hubconfig.Plan | None = None  # None: publish all
        self._generation = 0
        with self.store.tx():
            self.store.meta_set("dispatch_enabled", "1" if settings.dispatch_url else "0")

    def anchor_key(self) -> Any:
        """The key that signs audit anchors (loaded, or created, on first use)."""
        if self._anchor_key is None:
            from cloud.anchor_key import AnchorKey

            self._anchor_key = AnchorKey(self.settings.anchor_key_file)
        return self._anchor_key

    def now(self) -> int:
        """UTC seconds."""
        return int(self.clock())

    def scope(self, role: str, unit_id: int | None) -> frozenset[int]:
        """Units a role at a unit may see (cached until the unit tree changes)."""
        version = self.store.meta_get("units_version", "0")
        if version != self._scope_version:
            self._scope_cache.clear()
            self._scope_version = version
        key = (role, unit_id)
        if key not in self._scope_cache:
            self._scope_cache[key] = self.store.scope_for(role, unit_id)
        return self._scope_cache[key]

    # Publishing to hubs ------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> bool:
        """Publish if the MQTT worker runs (it queues while the broker is away); False if the
        worker gave it up (its window stayed full)."""
        if self.mqtt is None:
            return True
        return bool(self.mqtt.publish(topic, payload, retain=retain))

    def publish_configs(self) -> int:
        """Publish what changed in the hubs' retained records since the last publication."""
        return self._publish_records(full=False)

    def resync_configs(self) -> int:
        """Publish every hub's records under a new generation (on each MQTT connect).

        A broker killed between two autosaves restarts without the retained records it took
        last, and one restored from a backup holds records since deleted; the new generation
        makes hubs drop whatever this publication did not send again (docs/mqtt.md "config").
        """
        return self._publish_records(full=True)

    def _publish_records(self, full: bool) -> int:
        import datetime as dt

        with self._config_lock:
            now = self.now()
            moment = dt.datetime.fromtimestamp(now, dt.UTC)
            bands = self.store.bands(active_only=True)
            until = {
                int(b["band_id"]): presence_until(
                    self.store.orders_of_person(b["person_id"]), moment
                )
                for b in bands
                if b["person_id"] is not None
            }
            last = self._published
            with self.store.tx():
                if full or last is None:
                    # Never below the clock: a restored database still issues a newer one.
                    generation = max(int(self.store.meta_get("config_generation", "0")) + 1, now)
                    self.store.meta_set("config_generation", str(generation))
                    self._generation, last = generation, hubconfig.Plan()
                want = hubconfig.plan(
                    self.store.hubs(),
                    bands,
                    until,
                    self.settings.presence_interval_s,
                    self._generation,
                )
                out, restamp = hubconfig.changes(last, want)
                for hub_id in restamp:
                    version = self.store.bump_config_version(hub_id, now)
                    out.append(
                        (
                            topics.config(hub_id),
                            hubconfig.stamp(want.settings[hub_id], version, now),
                        )
                    )
            # Memory, not the database: after a restart, or a reconnect to a broker that may
            # have lost retained records, everything is published again anyway.
            self._published = want
            for topic, payload in out:
                # `is False`: stand-ins for publish in tests record and return None.
                if self.publish(topic, payload, retain=True) is False:
                    # The broker has been away a long while: the next connect's resync, or
                    # the next publication, sends everything again.
                    self._published = None
                    break
        return len(out)

    def close(self) -> None:
        """Stop workers and close the database."""
        for w in reversed(self.workers):
            try:
                w.stop()
            except Exception:
                log.exception("stopping %r", w)
        self.workers.clear()
        if self.mqtt is not None:
            self.mqtt.stop()
            self.mqtt = None
        self.store.close()


class Periodic:
    """A daemon thread calling fn(now) every interval seconds until stopped."""

    def __init__(
        self, name: str, interval: float, fn: Callable[[int], Any], clock: Callable[[], float]
    ) -> None:
        self.interval, self.fn, self.clock = interval, fn, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.fn(int(self.clock()))
            except Exception:
                log.exception("periodic job %s failed", self._thread.name)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
