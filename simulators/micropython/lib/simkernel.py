"""Simulated time, signal nets and the event calendar behind the board stand-ins."""

# Runs under MicroPython only. The `time`, `machine` and `bluetooth` stand-ins read the clock
# here; simulated devices put timed events on the calendar. Firmware callbacks are handed to
# micropython.schedule() exactly as the ESP32 port hands soft IRQs and timers to its scheduler,
# so they run one at a time between bytecodes, never nested.

import micropython
import utime

active = False  # False: the stand-ins behave like the real `time` (other tests share the VM)
_now_us = 0
_events = []  # [t_us, seq, fn, arg] sorted by (t_us, seq)
_seq = 0
nets = {}  # pin number -> Net
trace = []  # (t_ms, what, value) of actuator changes: motor, LEDs; bounded
meter = None  # benchmarks: fn((callback, arg)) scheduled instead, to time and weigh callbacks
TRACE_MAX = 512


def start(t_us=0):
    """Switch the stand-ins to simulated time, starting at t_us."""
    global active, _now_us
    active = True
    _now_us = t_us


def now_us():
    """Simulated microseconds since the simulated board powered up."""
    if not active:
        return utime.ticks_us()
    return _now_us


def at(t_us, fn, arg=None):
    """Call fn(arg) (kernel context, not scheduled) when the clock reaches t_us; returns a token."""
    global _seq
    _seq += 1
    ev = [t_us, _seq, fn, arg]
    i = len(_events)
    while i > 0 and (_events[i - 1][0] > t_us):
        i -= 1
    _events.insert(i, ev)
    return ev


def cancel(token):
    """Forget an event returned by at(); harmless if it already ran."""
    for i in range(len(_events)):
        if _events[i] is token:
            _events.pop(i)
            return


def next_event_us():
    """Time of the next calendar event, or None."""
    return _events[0][0] if _events else None


def _drain():
    # A few backward jumps: the VM runs pending scheduled callbacks at such points.
    for _ in range(3):
        pass


def schedule(fn, arg):
    """Hand a firmware callback to the MicroPython scheduler, as a soft IRQ does."""
    if meter is not None:
        micropython.schedule(meter, (fn, arg))
    else:
        micropython.schedule(fn, arg)
    _drain()


def sleep_us(us):
    """Advance the clock by us, running every calendar event that falls due on the way."""
    global _now_us
    if not active:
        utime.sleep_us(us)
        return
    target = _now_us + max(0, int(us))
    while _events and _events[0][0] <= target:
        ev = _events.pop(0)
        if ev[0] > _now_us:
            _now_us = ev[0]
        ev[2](ev[3])
        _drain()
    _now_us = target
    _drain()


def record(what, value):
    """Note an actuator change (motor on/off, ...) for the host to inspect."""
    if len(trace) >= TRACE_MAX:
        trace.pop(0)
    trace.append((_now_us // 1000, what, value))


class Net:
    """One board signal: a pin's own drive and pull, and what the outside world drives."""

    def __init__(self, pin_id):
        self.pin_id = pin_id
        self.out = None  # level the MCU drives, None when the pin is an input
        self.pull = 0  # 1 pull-up, 2 pull-down
        self.ext = None  # level a device or the world drives, None when floating
        self.handler = None
        self.trigger = 0
        self.pin = None
        self.watchers = []  # device callbacks fn(level) when the MCU drives the net
        self._last = self.level()

    def level(self):
        """The logic level a reader sees."""
        if self.out is not None:
            return self.out
        if self.ext is not None:
            return self.ext
        if self.pull == 1:
            return 1
        return 0

    def drive(self, level):
        """The outside world drives the net (None releases it)."""
        self.ext = level
        self._changed()

    def _changed(self):
        new = self.level()
        old = self._last
        self._last = new
        if new == old:
            return
        for fn in self.watchers:
            fn(new)
        # Pin.IRQ_RISING = 1, Pin.IRQ_FALLING = 2 (values as on the ESP32 port).
        edge = (new and self.trigger & 1) or (not new and self.trigger & 2)
        if self.handler is not None and self.out is None and edge:
            schedule(self.handler, self.pin)


def net(pin_id):
    """The net of a pin number, created on first use."""
    n = nets.get(pin_id)
    if n is None:
        n = Net(pin_id)
        nets[pin_id] = n
    return n


def reset():
    """Forget every event, net and trace entry (a fresh board)."""
    global _seq, active, _now_us
    del _events[:]
    nets.clear()
    del trace[:]
    _seq = 0
    active = False
    _now_us = 0
