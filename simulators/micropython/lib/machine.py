"""Stand-in for MicroPython's `machine` on the band's ESP32-S3, over the simulated board."""

# Same class and method names, constants and error behaviour as the ESP32 port, for the subset
# the firmware uses. Pins are nets in simkernel; I2C talks to simulated devices at register
# level; timers and pin interrupts run their callbacks through the MicroPython scheduler.

import simkernel as _k

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_reset_cause = PWRON_RESET
_unique_id = b"\x00\x00\x00\x00\x00\x00"
_buses = {}  # I2C bus id -> {address: device}
_adc_sources = {}  # pin number -> callable returning microvolts
_freq = 160000000


class Pin:
    """A GPIO pin bound to a simulated net."""

    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2
    WAKE_LOW = 4
    WAKE_HIGH = 5

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._net = _k.net(id)
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        """Configure direction, pull and initial level."""
        n = self._net
        if pull != -1:
            n.pull = pull or 0
        if mode == Pin.OUT or mode == Pin.OPEN_DRAIN:
            n.out = 1 if (value if value is not None else (n.out or 0)) else 0
        elif mode == Pin.IN:
            n.out = None
        n._changed()

    def value(self, v=None):
        """Read the level, or drive it when the pin is an output."""
        n = self._net
        if v is None:
            return n.level()
        if n.out is not None:
            n.out = 1 if v else 0
            n._changed()
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        """Drive high."""
        self.value(1)

    def off(self):
        """Drive low."""
        self.value(0)

    def irq(self, handler=None, trigger=3, hard=False, wake=None):
        """Call handler(pin) (scheduled, as a soft IRQ) on the given edges."""
        n = self._net
        n.handler = handler
        n.trigger = trigger if handler is not None else 0
        n.pin = self
        return None


class I2C:
    """An I2C controller; addresses without a simulated device NACK (OSError ENODEV)."""

    def __init__(self, id, scl=None, sda=None, freq=400000, timeout=50000):
        self.id = id
        self.freq = freq
        self._devices = _buses.get(id, {})

    def scan(self):
        """Addresses that acknowledge."""
        return sorted(self._devices)

    def _dev(self, addr):
        dev = self._devices.get(addr)
        if dev is None or not dev.present:
            raise OSError(19)  # ENODEV: what the ESP32 port raises on an address NACK
        return dev

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        """Read nbytes starting at register memaddr."""
        return bytes(self._dev(addr).read(memaddr, nbytes))

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        """Read len(buf) bytes starting at register memaddr into buf."""
        self._dev(addr).read_into(memaddr, buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        """Write buf starting at register memaddr."""
        self._dev(addr).write(memaddr, bytes(buf))

    def readfrom(self, addr, nbytes, stop=True):
        """Read without a register address (from the device's current pointer)."""
        return bytes(self._dev(addr).read(None, nbytes))

    def writeto(self, addr, buf, stop=True):
        """Write raw bytes: the first byte is the register address."""
        buf = bytes(buf)
        dev = self._dev(addr)
        if len(buf) > 1:
            dev.write(buf[0], buf[1:])
        elif buf:
            dev.pointer = buf[0]
        return len(buf)


SoftI2C = I2C


class ADC:
    """An ADC channel; read_uv() gives calibrated microvolts like the ESP32 port."""

    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, pin, atten=ATTN_11DB):
        self._id = pin.id if isinstance(pin, Pin) else pin
        self._atten = atten

    def atten(self, a):
        """Set the input attenuation (range)."""
        self._atten = a

    def read_uv(self):
        """Input voltage in microvolts (full scale about 3.1 V at 11 dB)."""
        src = _adc_sources.get(self._id)
        uv = src() if src is not None else 0
        return max(0, min(3100000, int(uv)))

    def read_u16(self):
        """Raw reading scaled to 0..65535."""
        return self.read_uv() * 65535 // 3100000


class PWM:
    """PWM output; the duty cycle is recorded in the simulation trace."""

    def __init__(self, pin, freq=1000, duty_u16=0):
        self._pin = pin
        self._freq = freq
        self._duty = -1
        self.duty_u16(duty_u16)

    def freq(self, f=None):
        """Get or set the frequency."""
        if f is None:
            return self._freq
        self._freq = f
        return None

    def duty_u16(self, d=None):
        """Get or set the duty cycle (0..65535)."""
        if d is None:
            return self._duty
        d = max(0, min(65535, int(d)))
        if d != self._duty:
            self._duty = d
            _k.record("pwm%d" % self._pin.id, d)
        return None

    def deinit(self):
        """Stop the output."""
        self.duty_u16(0)


class Timer:
    """Hardware timer; the callback runs through the scheduler (soft), like the ESP32 port."""

    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id, mode=PERIODIC, period=-1, callback=None):
        self.id = id
        self._token = None
        self._cb = None
        if callback is not None:
            self.init(mode=mode, period=period, callback=callback)

    def init(self, mode=PERIODIC, period=-1, callback=None, freq=-1):
        """Start the timer."""
        self.deinit()
        if freq > 0:
            period = 1000 // freq
        self._mode = mode
        self._period_us = max(1, int(period)) * 1000
        self._cb = callback
        self._due = _k.now_us() + self._period_us
        self._token = _k.at(self._due, self._fire)

    def _fire(self, _):
        self._token = None
        if self._mode == Timer.PERIODIC:
            self._due += self._period_us
            self._token = _k.at(self._due, self._fire)
        if self._cb is not None:
            _k.schedule(self._cb, self)

    def deinit(self):
        """Stop the timer."""
        if self._token is not None:
            _k.cancel(self._token)
            self._token = None


class WDT:
    """Watchdog: if not fed within timeout ms of simulated time the simulation stops."""

    def __init__(self, id=0, timeout=5000):
        self._timeout_us = int(timeout) * 1000
        self._token = None
        self.feed()

    def feed(self):
        """Restart the watchdog period."""
        if self._token is not None:
            _k.cancel(self._token)
        self._token = _k.at(_k.now_us() + self._timeout_us, self._expire)

    def _expire(self, _):
        raise RuntimeError("watchdog expired at t=%d ms: the firmware hung" % (_k.now_us() // 1000))


def lightsleep(ms=None):
    """Sleep with the CPU stopped; timers and pin interrupts still run (simulated time)."""
    _k.sleep_us((ms or 0) * 1000)


def idle():
    """Wait for the next interrupt (here: return at once)."""
    return None


def freq(f=None):
    """CPU frequency."""
    global _freq
    if f is None:
        return _freq
    _freq = f
    return None


def unique_id():
    """The chip's factory MAC-derived id."""
    return _unique_id


def reset_cause():
    """Why the board last reset."""
    return _reset_cause


def reset():
    """Hard reset: the simulator ends this run."""
    raise SystemExit("machine.reset()")
