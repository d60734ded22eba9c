"""The band's periodic work: drain the sensors, close seconds, run what fell due (Band mixin)."""

from machine import Timer

from firmware import control, duty
from firmware.drivers import DeviceError
from firmware.summary import Window
from protocol import schema


class Sampling:
    """Service timer, sensor FIFOs, the still-wrist sleep, PPG duty cycle and deadlines."""

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
        idle = now - self._last_link_activity
        if self.radio.conn is not None and (
            (idle >= duty.CONN_IDLE_S and not self._inflight) or idle >= 3 * duty.CONN_IDLE_S
        ):
            self.radio.disconnect()  # unacknowledged frames go again on the next visit
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
