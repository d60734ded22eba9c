"""The band: sensors in, signed frames out. Everything runs in scheduled callbacks."""

import array
import time

from machine import WDT, Pin, Timer

from firmware import board, control, duty
from firmware.drivers import DeviceError
from firmware.drivers.bma400 import BMA400
from firmware.drivers.inputs import STRAP_OK, Button, Charger, StrapLoop, Switch
from firmware.drivers.max17048 import MAX17048
from firmware.drivers.max30101 import MAX30101
from firmware.drivers.motor import Motor
from firmware.flashq import FlashQueue
from firmware.radio import Radio
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


class Band:
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
        self.queue.append(raw, sos)
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

    # Service: the periodic work -----------------------------------------------------------

    def _schedule_service(self):
        ppg_on = self.ppg is not None and self.ppg.running
        ms = duty.SERVICE_MS_PPG if ppg_on else duty.SERVICE_MS_IDLE
        if ms != self._service_ms:
            self._service_ms = ms
            self._service_timer.init(mode=Timer.PERIODIC, period=ms, callback=self.service)
            if self.accel is not None:
                self.accel.set_watermark(ms * duty.SAMPLE_HZ // 1000 + 5)

    def service(self, _=None):
        """Drain the sensors, close whole seconds, run whatever fell due."""
        self._wdt.feed()
        self._tick_clock()
        self._drain_sensors()
        secs = self._carry_ms // 1000
        if secs:
            self._carry_ms -= secs * 1000
            worn = self.on_skin and self.strap_closed
            ppg_on = self.ppg is not None and self.ppg.running and self.ppg.pulse
            steps, bpm, activity, kcal = self.sensing.close(secs, ppg_on)
            self.window.add(secs, steps, bpm, activity, kcal, worn)
            if self.session is not None:
                self.session.add(secs, steps, bpm, activity, kcal, worn)
            self._still_check(secs, steps, activity)
        self._deadlines()

    def _still_check(self, secs, steps, activity):
        # Resting without a step for a while: let the accelerometer watch for motion itself.
        if self.still or self.accel is None or self.session is not None:
            return
        if steps or activity != "rest":
            self._still_s = 0
            return
        self._still_s += secs
        if self._still_s >= duty.STILL_AFTER_S:
            try:
                self.accel.sleep_until_motion(duty.STILL_WAKE_MG)
                self.still = True
            except DeviceError as exc:
                self.note(str(exc))

    def _accel_wake(self, _pin):
        self._tick_clock()
        self._wake_accel()

    def _wake_accel(self):
        if not self.still:
            return
        self.still = False
        self._still_s = 0
        try:
            self.accel.resume()
        except DeviceError as exc:
            self.note(str(exc))

    def _drain_sensors(self):
        n = 0
        if self.accel is not None and not self.still:
            try:
                n = self.accel.read_fifo(self._xs, self._ys, self._zs)
            except DeviceError as exc:
                self.note(str(exc))
        for i in range(n):
            self.sensing.accel(self._xs[i], self._ys[i], self._zs[i])
        if self.ppg is None or not self.ppg.running:
            return
        try:
            m = self.ppg.read_fifo(self._green, self._ir)
        except DeviceError as exc:
            self.note(str(exc))
            return
        ir_sum = 0
        pulse = self.ppg.pulse
        for i in range(m):
            ir_sum += self._ir[i]
            if not pulse:
                continue  # a skin check: the green channel is dark, no heart rate
            j = (i * n // m) if n else 0  # the accelerometer sample closest in time
            x = self._xs[j] if n else 0
            y = self._ys[j] if n else 0
            z = self._zs[j] if n else 1000
            self.sensing.ppg(self._green[i], x, y, z)
        if m:
            self._skin(ir_sum // m >= duty.OFF_SKIN_IR)

    def _deadlines(self):
        now = self.uptime_s()
        self._ppg_duty(now)
        if now >= self._next_activity:
            sid = self.session.session_id if self.session is not None else 0
            self.emit("activity", self.window.fields(sid))
            self.window = Window()
            self._next_activity = now + self.cfg[0]
            if self.session is not None:
                self._save_state()  # a reset then loses at most one window of session data
        if now >= self._next_heartbeat:
            self.emit("heartbeat", self._heartbeat_fields())
            self._next_heartbeat = now + self.cfg[1]
        if now >= self._next_battery:
            self._check_battery()
        if now >= self._next_strap:
            self._check_strap()
        if self.sos is not None and now >= self._sos_next:
            self._sos_send()
        if self.session is not None and self.session.due(now):
            control.end_session(self, schema.SESSION_END)
        if (
            self.radio.conn is not None
            and now - self._last_link_activity >= duty.CONN_IDLE_S
            and not self._inflight
        ):
            self.radio.disconnect()
        self._advertise()

    def _ppg_duty(self, now):
        if self.ppg is None:
            return
        low = self._battery[0] and self._battery[0] <= duty.CRITICAL_PCT
        pulse = self.session is not None or now % duty.PPG_PERIOD_S < duty.PPG_ON_S
        skin = now % duty.SKIN_CHECK_S < duty.SKIN_CHECK_ON_S
        pulse = pulse and not low and self.strap_closed
        skin = skin and not low and self.strap_closed
        if pulse and not (self.ppg.running and self.ppg.pulse):
            self.ppg.start(pulse=True)
            self.sensing.reset_hr()
        elif skin and not pulse and not self.ppg.running:
            self.ppg.start(pulse=False)
        elif not pulse and not skin and self.ppg.running:
            self.ppg.stop()
        self._schedule_service()

    # Tamper and skin ----------------------------------------------------------------------

    def _skin(self, on):
        if on == self.on_skin:
            self._off_skin_votes = 0
            return
        self._off_skin_votes += 1
        if self._off_skin_votes < 2:  # two drains in a row: one dark batch is not removal
            return
        self._off_skin_votes = 0
        self.on_skin = on
        now = self.uptime_s()
        if on:
            dur = now - self._off_skin_at if self._off_skin_at is not None else 0
            self._tamper(schema.TAMPER_ON_SKIN, dur)
        else:
            self._off_skin_at = now
            self._tamper(schema.TAMPER_OFF_SKIN, 0)
            control.abort_session(self)

    def _tamper(self, event, duration):
        self.emit(
            "tamper",
            {
                "event": event,
                "strap_closed": 1 if self.strap_closed else 0,
                "on_skin": 1 if self.on_skin else 0,
                "battery_pct": self._battery[0],
                "duration_s": min(0xFFFF, duration),
            },
        )

    def _strap_irq(self, _pin):
        self._tick_clock()
        self._check_strap()

    def _check_strap(self):
        self._next_strap = self.uptime_s() + duty.STRAP_CHECK_S
        closed = not self.strap.is_open() and self.strap.measure() == STRAP_OK
        if closed == self.strap_closed:
            return
        self.strap_closed = closed
        now = self.uptime_s()
        if closed:
            dur = now - self._strap_open_at if self._strap_open_at is not None else 0
            self._tamper(schema.TAMPER_STRAP_CLOSED, dur)
        else:
            self._strap_open_at = now
            self._tamper(schema.TAMPER_STRAP_OPEN, 0)
            control.abort_session(self)

    def _case_irq(self, _pin):
        self._tick_clock()
        closed = self.case.low()
        if closed != self.case_closed:
            self.case_closed = closed
            if not closed:
                self._tamper(schema.TAMPER_CASE_OPEN, 0)

    # Battery ------------------------------------------------------------------------------

    def _charger_irq(self, _pin):
        self._tick_clock()
        self._check_battery()

    def _check_battery(self):
        self._next_battery = self.uptime_s() + duty.BATTERY_CHECK_S
        if self.gauge is not None:
            try:
                self._battery = (self.gauge.percent(), self.gauge.millivolts())
            except DeviceError as exc:
                self.note(str(exc))
        pct = self._battery[0]
        state = self.charger.state()
        if state != self._charger:
            old = self._charger
            self._charger = state
            if state == Charger.CHARGING:
                self._battery_frame(schema.BATTERY_CHARGING)
            elif state == Charger.DONE and old == Charger.CHARGING:
                self._battery_frame(schema.BATTERY_CHARGED)
        if self.gauge is None:
            return
        # Each alarm once per discharge; re-armed after charging back above it plus margin.
        if pct <= duty.CRITICAL_PCT and self._battery_alarm < 2:
            self._battery_alarm = 2
            self._battery_frame(schema.BATTERY_CRITICAL)
        elif pct <= duty.LOW_PCT and self._battery_alarm < 1:
            self._battery_alarm = 1
            self._battery_frame(schema.BATTERY_LOW)
        elif pct > duty.LOW_PCT + 5:
            self._battery_alarm = 0
        elif pct > duty.CRITICAL_PCT + 3 and self._battery_alarm == 2:
            self._battery_alarm = 1

    def _battery_frame(self, event):
        pct, mv = self._battery
        temp = self.accel.temperature_c() if self.accel is not None else 0
        est = pct * duty.CELL_MAH * 10 // int(duty.BUDGET_MA * 1000)  # hours, at the budget
        self.emit(
            "battery",
            {
                "event": event,
                "battery_pct": pct,
                "battery_mv": mv,
                "temp_c": max(-128, min(127, temp)),
                "est_hours": min(0xFFFF, est),
            },
        )

    # SOS ----------------------------------------------------------------------------------

    def _button_irq(self, _pin):
        self._tick_clock()
        if self.button.pressed():
            self._button_timer.init(
                mode=Timer.ONE_SHOT, period=duty.LONG_PRESS_MS, callback=self._long_press
            )
        else:
            self._button_timer.deinit()

    def _long_press(self, _t):
        self._tick_clock()
        if not self.button.pressed():
            return
        self.motor.play("sos_armed")
        if self.sos is not None:
            self._sos_send()  # pressed again while one is pending: repeat now
            return
        self.sos_seq = (self.sos_seq + 1) & 0xFFFF or 1
        self.sos = [self.sos_seq, 0]
        self._save_state()
        self._sos_send()

    def _sos_send(self):
        sos_id, attempt = self.sos
        attempt = min(255, attempt + 1)
        self.sos[1] = attempt
        hub_id, rssi, age = 0, 0, 0xFFFF
        if self.cfg[2] & schema.CONFIG_SOS_LOCATION and self.hub is not None:
            hub_id, rssi, heard = self.hub
            age = min(0xFFFF, self.uptime_s() - heard)
        fields = {
            "sos_id": sos_id,
            "reason": schema.SOS_BUTTON,
            "battery_pct": self._battery[0],
            "attempt": attempt,
            "hub_id": hub_id,
            "hub_rssi": rssi,
            "hub_age_s": age,
        }
        backoff = duty.SOS_BACKOFF_S
        self._sos_next = self.uptime_s() + backoff[min(attempt, len(backoff)) - 1]
        self.emit("sos", fields, sos=True)
