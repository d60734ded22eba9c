"""The cloud's retained records as the hub applies them: in order, batched, keys kept, saved."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable

from hub import cloudconfig
from hub.intake import Intake
from hub.outbox import Outbox

log = logging.getLogger("sqjz.hub")
CONFIG_KEY = "cloud_config"
# Additions are saved this long after the first of a burst: the save writes every band (a
# county's 10,000 records take a minute to arrive), and what is lost in a crash comes back as
# retained records. Removals are saved at once.
SAVE_AFTER_S = 5.0


class CloudRecords:
    """The config in force (`cloud`), fed by settings and band records from the broker."""

    def __init__(
        self, hub_id: int, store: Outbox, intake: Intake, clock: Callable[[], float]
    ) -> None:
        self.hub_id, self.store, self.intake, self.clock = hub_id, store, intake, clock
        self.cloud: cloudconfig.CloudConfig | None = None
        self._records: dict[int, bytes] = {}  # band records waiting to be applied together
        self._records_scheduled = False
        self._save_scheduled = False

    def load_saved(self) -> None:
        """The config saved at the last run (the broker sends the rest again)."""
        saved = self.store.get_meta(CONFIG_KEY)
        if saved is not None:
            with contextlib.suppress(cloudconfig.ConfigError):
                self.apply(cloudconfig.parse(saved.encode(), self.hub_id))

    def apply(self, cfg: cloudconfig.CloudConfig | None, changed: set[int] | None = None) -> None:
        """Put `cfg` in force; `changed` names the only bands whose keys may differ."""
        before = self.cloud
        self.cloud = cfg
        if changed is None or before is None or cfg is None:
            self.intake.set_keys(cfg.keys() if cfg else {})
            return
        # Only the bands these records touched: a full keyring parses every key again.
        self.intake.update_keys(
            {b: cfg.bands[b].public_key if b in cfg.bands else None for b in changed}
        )

    def forget_bands(self) -> None:
        """A new broker session: keep settings, take the bands from the retained records."""
        if self.cloud is not None:
            self.apply(cloudconfig.without_bands(self.cloud))

    def band_record(self, payload: bytes, band_id: int) -> None:
        """One band's retained record (applied with the others of its burst)."""
        # A reconnect brings one retained record per band at once: apply them together, once.
        self._records[band_id] = payload
        if not self._records_scheduled:
            self._records_scheduled = True
            asyncio.get_running_loop().call_soon(self.apply_records)

    def apply_records(self) -> None:
        """Apply the band records that arrived since the last call."""
        self._records_scheduled = False
        records, self._records = self._records, {}
        entries: dict[int, cloudconfig.BandEntry | None] = {}
        for band_id, payload in records.items():
            try:
                entries[band_id] = cloudconfig.parse_band(payload, band_id)
            except cloudconfig.ConfigError as exc:
                self._refused(exc)
        cfg = cloudconfig.with_bands(self.cloud, self.hub_id, entries)
        for band_id, entry in entries.items():
            before = self.cloud.bands.get(band_id) if self.cloud else None
            if (
                entry
                and before
                and cfg.bands.get(band_id) is entry
                and entry.key_epoch != before.key_epoch
            ):
                # A new key restarts the band's counter (protocol/README.md §6.1).
                self.intake.windows.pop(band_id, None)
        self._applied(cfg, set(entries))

    def settings_record(self, payload: bytes) -> None:
        """A settings record; band records that came before it are applied first."""
        if self._records:
            self.apply_records()
        try:
            cfg = cloudconfig.parse(payload, self.hub_id)
            if not cloudconfig.newer(self.cloud, cfg):
                return
            cfg = cloudconfig.with_settings(self.cloud, cfg)
        except cloudconfig.ConfigError as exc:
            self._refused(exc)
            return
        self._applied(cfg, None)
        log.info("config applied", extra={"version": cfg.version, "bands": len(cfg.bands)})

    def _refused(self, exc: cloudconfig.ConfigError) -> None:
        log.warning("config refused", extra={"error": str(exc)})
        self.intake.event("config_refused", self.clock(), code="bad_config", detail=str(exc))

    def _applied(self, cfg: cloudconfig.CloudConfig, changed: set[int] | None) -> None:
        if cfg is self.cloud:
            return
        old = self.cloud.bands if self.cloud is not None else {}
        gone = any(b not in cfg.bands for b in (old if changed is None else changed) if b in old)
        self.apply(cfg, changed)
        # A removal is saved at once (the broker will not send it again); additions and
        # changes come back as retained records after a crash (SAVE_AFTER_S).
        if gone:
            self.save()
        elif not self._save_scheduled:
            self._save_scheduled = True
            asyncio.get_running_loop().call_later(SAVE_AFTER_S, self.save)

    def save(self) -> None:
        """Save the config in force (the outbox database's meta table)."""
        self._save_scheduled = False
        # Closed at stop: what was not saved comes back as retained records.
        with contextlib.suppress(sqlite3.ProgrammingError):
            if self.cloud is not None:
                self.store.set_meta(CONFIG_KEY, cloudconfig.dump(self.cloud).decode())

    def flush(self) -> None:
        """Save now if a save is waiting (at stop)."""
        if self._save_scheduled:
            self.save()
