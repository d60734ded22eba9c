"""The band's alarms: strap, skin, case, battery and the SOS button (a mixin of Band)."""

from machine import Timer

from firmware import control, duty
from firmware.drivers import DeviceError
from firmware.drivers.inputs import STRAP_OK, Charger
from protocol import schema


class Alarms:
    """Tamper and skin events, battery and charger events, the SOS long press and repeats."""

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
