"""Vibration motor on a PWM pin: patterns play from a timer without blocking the CPU."""

from machine import PWM, Pin, Timer

ON = 52000  # duty (of 65535): about 2.6 V average on a 3 V motor from a 3.7 V cell

# Patterns: (on ms, off ms, ...). 1 short, 2 double, 3 long; SOS_ACCEPTED three short.
PATTERNS = {
    1: (200,),
    2: (150, 150, 150),
    3: (800,),
    "sos_armed": (100,),
    "sos_sent": (100, 100, 100, 100, 100),
}


class Motor:
    """Plays one pattern at a time; a new pattern replaces the one playing."""

    def __init__(self, pin_id, timer_id):
        self.pwm = PWM(Pin(pin_id, Pin.OUT, value=0), freq=200, duty_u16=0)
        self._timer = Timer(timer_id)
        self._steps = ()
        self._i = 0
        self.played = 0

    def play(self, name):
        """Start a pattern by name or number; unknown names are ignored."""
        steps = PATTERNS.get(name)
        if not steps:
            return
        self._timer.deinit()
        self._steps = steps
        self._i = 0
        self.played += 1
        self._step(None)

    def _step(self, _):
        if self._i >= len(self._steps):
            self.pwm.duty_u16(0)
            return
        self.pwm.duty_u16(ON if self._i % 2 == 0 else 0)
        ms = self._steps[self._i]
        self._i += 1
        self._timer.init(mode=Timer.ONE_SHOT, period=ms, callback=self._step)

    def stop(self):
        """Silence."""
        self._timer.deinit()
        self.pwm.duty_u16(0)
