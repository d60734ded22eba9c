"""The band: sensors in, signed frames out. Everything runs in scheduled callbacks."""

import array
import time

from machine import WDT, Pin, Timer

from firmware import board, control, duty
from firmware.alarms import Alarms
from firmware.drivers import DeviceError
from firmware.drivers.bma400 import BMA400
from firmware.drivers.inputs import Button, Charger, StrapLoop, Switch
from firmware.drivers.max17048 import MAX17048
from firmware.drivers.max30101 import MAX30101
from firmware.drivers.motor import Motor
from firmware.flashq import FlashQueue
from firmware.radio import Radio
from firmware.sampling import Sampling
from firmware.sensing import Sensing
from firmware.storage import Store
from firmware.summary import Session, Window
from protocol import frame, gatt, schema
from protocol.counter import Counter
from protocol.ed25519 import Signer

ROUTINE = ("activity", "heartbeat")  # frames that may wait for a batch before a hub visit
TIMER_SERVICE = 0
TIMER_BUTTON = 1
TIMER_MOTOR = 2
MAX_BATCH = 160  # accelerometer samples per FIFO drain (the FIFO holds 146)


class Band(Sampling, Alarms):
    """All state of the running band; callbacks are serialized by MicroPython's scheduler."""

    def __init__(self, data_dir=board.DATA_DIR):
        self.store = Store(data_dir)
        self.faults = []  # parts that failed at start: (name, message)
        self.log = []  # short diagnostics, newest last (bounded)
        self._t_ms = time.ticks_ms()
        self._uptime_ms = 0
        self._carry_ms = 0
        factory = self.store.read("factory")
        if factory is None or len(factory) < 5:
            raise RuntimeError("band not provisioned: no factory record in " + data_dir)
        self.band_id = int.from_bytes(factory[0:4], "big")
        self.hw_rev = factory[4]
        seed = self.store.read("key")
        if seed is None or len(seed) != 32:
            seed = board.urandom(32)  # first boot: the key is born on the band, never leaves
            self.store.write("key", seed)
        self.signer = Signer(seed)
        del seed
        self.counter = Counter(lambda: self.store.read_u32("ctr"), self._save_ceiling)
        st = self.store.read_json("state", {})
        self.cfg = st.get("cfg") or [duty.ACTIVITY_S, duty.HEARTBEAT_S, 0, 0]
        self.dl_window = tuple(st.get("dlw") or (-1, 0))
        self.last_downlink = st.get("last_dl", 0)
        self.dropped_total = st.get("dropped", 0)
        self.sos_seq = st.get("sos_seq", 0)
        self.sos = st.get("sos")  # [sos_id, attempt] while unacknowledged
        self.profile = st.get("profile")
        saved_session = st.get("session")
        self.dl_key = self.store.read("dlkey")
        self.utc_base = None  # UTC minus uptime, from an authenticated time_sync
        self.presence_deadline = None  # uptime when presence collection must stop
        self.hub = None  # (hub_id, rssi, uptime heard), kept only with SOS-location opt-in
        self.hub_ready = False
        self.session = None
        self.queue = FlashQueue(self.store)
        self.window = Window()
        self.sensing = Sensing(duty.SAMPLE_HZ, self.profile)
        self._inflight = []  # counters notified on this link, not yet acknowledged
        self._urgent = False  # a non-routine frame waits: ask for a visit now
        self._routine_since = None  # uptime of the oldest routine frame waiting
        self._last_link_activity = 0
        self._refusal_at = -duty.REFUSAL_ANSWER_S
        self._next_activity = self.cfg[0]
        self._next_heartbeat = 0
        self._next_strap = duty.STRAP_CHECK_S
        self._next_battery = 0
        self._sos_next = 0
        self._battery = (0, 0)
        self._battery_alarm = 0
        self._charger = 0
        self._strap_open_at = None
        self._off_skin_at = None
        self._off_skin_votes = 0
        self.on_skin = True
        self.still = False  # accelerometer asleep until the wrist moves
        self._still_s = 0
        self.strap_closed = True
        self.case_closed = True
        self._xs = array.array("h", bytes(2 * MAX_BATCH))
        self._ys = array.array("h", bytes(2 * MAX_BATCH))
        self._zs = array.array("h", bytes(2 * MAX_BATCH))
        self._green = array.array("i", bytes(4 * 32))
        self._ir = array.array("i", bytes(4 * 32))
        self._open_parts()
        self.radio = Radio(self.band_id, self.on_control, self._on_link)
        self._update_identity()
        self._wdt = WDT(timeout=duty.WDT_MS)
        self._service_timer = Timer(TIMER_SERVICE)
        self._service_ms = 0
        self._button_timer = Timer(TIMER_BUTTON)
        self._schedule_service()
        if saved_session:
            # A reset lost the running session's latest data: report it as aborted.
            s = Session.from_json(saved_session, 0)
            self.emit("session", s.fields(schema.SESSION_ABORTED, 0))
            self._save_state()
        self._check_battery()
        self._check_strap()
        self.emit("heartbeat", self._heartbeat_fields(), urgent=True)  # a reset is news
        self._next_heartbeat = self.cfg[1]
        self._advertise()

    # Parts --------------------------------------------------------------------------------

    def _open_parts(self):
        i2c = board.i2c()
        self.accel = self._part("accelerometer", lambda: BMA400(i2c, board.ADDR_ACCEL))
        self.ppg = self._part("ppg", lambda: MAX30101(i2c, board.ADDR_PPG))
        self.gauge = self._part("gauge", lambda: MAX17048(i2c, board.ADDR_GAUGE))
        self.motor = Motor(board.PIN_MOTOR, TIMER_MOTOR)
        self._wake_pin = Pin(board.PIN_ACCEL_INT2, Pin.IN)
        self._wake_pin.irq(self._accel_wake, Pin.IRQ_RISING)
        self.button = Button(board.PIN_BUTTON, self._button_irq)
        self.strap = StrapLoop(
            board.PIN_STRAP_SENSE,
            board.PIN_STRAP_TEST,
            board.STRAP_R_LOOP,
            board.STRAP_R_TEST,
            board.STRAP_MV_SUPPLY,
            self._strap_irq,
        )
        self.case = Switch(board.PIN_CASE, self._case_irq)
        self.charger = Charger(board.PIN_VBUS, board.PIN_CHG_STAT, self._charger_irq)

    def _part(self, name, make):
        # A dead part must not stop the band: it still signs SOS, tamper and battery frames.
        try:
            return make()
        except DeviceError as exc:
            self.faults.append((name, str(exc)))
            self.note("fault " + str(exc))
            return None

    def note(self, text):
        """Keep a short diagnostic line (last 16)."""
        if len(self.log) >= 16:
            self.log.pop(0)
        self.log.append(text)

    def capabilities(self):
        """Enrol frame bits: 1 PPG working, 2 tamper loop."""
        return (1 if self.ppg is not None else 0) | 2

    # Time ---------------------------------------------------------------------------------

    def uptime_s(self):
        """Whole seconds since boot (live, whichever callback asks)."""
        return (self._uptime_ms + max(0, time.ticks_diff(time.ticks_ms(), self._t_ms))) // 1000

    def _tick_clock(self):
        # Uptime and the not-yet-accounted milliseconds advance together, whoever asks.
        now = time.ticks_ms()
        dt = time.ticks_diff(now, self._t_ms)
        self._t_ms = now
        if dt > 0:
            self._uptime_ms += dt
            self._carry_ms += dt

    def band_time(self):
        """(seconds for the frame header, True if that is UTC)."""
        if self.utc_base is None:
            return self.uptime_s(), False
        return self.utc_base + self.uptime_s(), True

    # Frames -------------------------------------------------------------------------------

    def _save_ceiling(self, value):
        self.store.write_u32("ctr", value)

    def emit(self, ftype, fields, sos=False, urgent=False):
        """Sign a frame, keep it in flash until acknowledged, send it if a hub listens."""
        if sos and self.queue.sos_full():
            self.note("sos queue full: repeat not created")
            return None
        t, synced = self.band_time()
        flags = 0
        if not (self.radio_ready()):
            flags |= frame.FLAG_QUEUED
        if not synced:
            flags |= frame.FLAG_TIME_UNSYNCED
        if self.session is not None:
            flags |= frame.FLAG_SESSION
        try:
            counter = self.counter.next()
        except OverflowError:
            self.note("counter exhausted: re-key needed")
            return None
        raw = frame.encode(ftype, self.band_id, counter, t, fields, self.signer.sign, flags)
        try:
            self.queue.append(raw, sos)
        except OSError as exc:
            # Flash full or failing: the frame is lost, and counted so the cloud learns of it;
            # a crash here would only make the band reboot into the same state.
            self.note("queue write failed: %r" % (exc,))
            self.dropped_total += 1
            self._save_state_quietly()
            return None
        if urgent or ftype not in ROUTINE:
            self._urgent = True
        elif self._routine_since is None:
            self._routine_since = self.uptime_s()
        if self.queue.dropped:
            self.dropped_total += self.queue.dropped
            self.queue.dropped = 0
            self._save_state()
        self.pump()
        self._advertise()
        return raw

    def radio_ready(self):
        """A hub is connected and said hello (it is listening to notifications)."""
        return self.hub_ready and self.radio.conn is not None

    def pump(self):
        """Notify waiting frames (SOS first), a few at a time until they are acknowledged."""
        if not self.radio_ready():
            return
        room = 4 - len(self._inflight)
        if room <= 0:
            return
        for raw in self.queue.pending(skip=self._inflight, limit=room):
            if not self.radio.send(raw):
                break
            self._inflight.append(int.from_bytes(raw[7:11], "big"))
            self._last_link_activity = self.uptime_s()

    def acked(self, counter):
        """The hub stored a frame: forget it."""
        if counter in self._inflight:
            self._inflight.remove(counter)
        self.queue.ack(counter)
        self._last_link_activity = self.uptime_s()
        self.pump()
        self._advertise()

    def _heartbeat_fields(self):
        pct, mv = self._battery
        return {
            "uptime_s": self.uptime_s(),
            "battery_pct": pct,
            "battery_mv": mv,
            "mode": schema.MODE_SESSION if self.session is not None else schema.MODE_NORMAL,
            "config": self.effective_config(),
            "queue_depth": min(0xFFFF, self.queue.depth()),
            "dropped_total": self.dropped_total,
            "last_downlink": self.last_downlink,
            "fw_version": board.FW_VERSION,
        }

    # State --------------------------------------------------------------------------------

    def _save_state(self):
        self.store.write_json(
            "state",
            {
                "cfg": self.cfg,
                "dlw": list(self.dl_window),
                "last_dl": self.last_downlink,
                "dropped": self.dropped_total,
                "sos_seq": self.sos_seq,
                "sos": self.sos,
                "profile": self.profile,
                "session": (
                    self.session.to_json(self.uptime_s()) if self.session is not None else None
                ),
            },
        )

    def _save_state_quietly(self):
        try:
            self._save_state()
        except OSError as exc:
            self.note("state write failed: %r" % (exc,))

    def effective_config(self):
        """Config bits in force now (presence only until its deadline)."""
        bits = self.cfg[2] & schema.CONFIG_SOS_LOCATION
        if self.presence_active():
            bits |= schema.CONFIG_PRESENCE
        return bits

    def presence_active(self):
        """An Art. 29 presence order is in force, by the band's own clock."""
        if not self.cfg[2] & schema.CONFIG_PRESENCE or self.presence_deadline is None:
            return False
        if self.uptime_s() >= self.presence_deadline:
            return False
        t, synced = self.band_time()
        return not synced or t < self.cfg[3]

    def _update_identity(self):
        self.radio.set_identity(
            gatt.pack_identity(
                self.band_id,
                self.signer.public_key,
                board.FW_VERSION,
                self.hw_rev,
                self.dl_key is not None,
            )
        )

    # Radio --------------------------------------------------------------------------------

    def frames_waiting(self):
        """True when the advert should ask a hub to come for frames (see duty.BATCH_*)."""
        depth = self.queue.depth()
        if not depth:
            self._urgent = False
            self._routine_since = None
            return False
        if self._urgent or depth >= duty.BATCH_FRAMES:
            return True
        since = self._routine_since
        return since is not None and self.uptime_s() - since >= duty.BATCH_MAX_S

    def _advertise(self):
        status = 0
        if self.sos is not None:
            status |= gatt.ADV_SOS_PENDING
        if self.frames_waiting():
            status |= gatt.ADV_FRAMES_QUEUED
        if self.dl_key is None:
            status |= gatt.ADV_UNENROLLED
        if self.sos is not None:
            interval = duty.ADV_SOS_MS
        elif self._battery[0] and self._battery[0] <= duty.CRITICAL_PCT:
            interval = duty.ADV_LOW_BATTERY_MS
        elif self.presence_active():
            interval = duty.ADV_PRESENCE_MS
        else:
            interval = duty.ADV_MS
        self.radio.advertise(interval, status)

    def _on_link(self, up):
        self.hub_ready = False
        self._inflight = []
        self._last_link_activity = self.uptime_s()
        if not up:
            self._advertise()

    def on_control(self, data):
        """A CONTROL write from the hub (scheduled, one at a time)."""
        self._last_link_activity = self.uptime_s()
        control.handle(self, data)
