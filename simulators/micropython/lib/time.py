"""Stand-in for MicroPython's `time`: the simulated clock once simkernel is started."""

# On this port a module on sys.path shadows the built-in `time` (checked by the tests), so the
# firmware imports `time` exactly as on the board. Until the simulator starts the kernel every
# function is the built-in one, so other code sharing the interpreter sees real time.

import simkernel as _k
import utime as _u

_PERIOD = 1 << 30  # MicroPython's ticks period on 32-bit ports
_MASK = _PERIOD - 1
EPOCH_OFFSET = 0  # simulated UTC seconds at simulated t = 0, set by the simulator

ticks_add = _u.ticks_add
ticks_diff = _u.ticks_diff
gmtime = _u.gmtime
localtime = _u.localtime
mktime = _u.mktime


def ticks_ms():
    """Milliseconds of the simulated (or real) monotonic clock, wrapping like the board's."""
    if not _k.active:
        return _u.ticks_ms()
    return (_k.now_us() // 1000) & _MASK


def ticks_us():
    """Microseconds of the monotonic clock, wrapping."""
    if not _k.active:
        return _u.ticks_us()
    return _k.now_us() & _MASK


def ticks_cpu():
    """Finest available tick (microseconds here)."""
    return ticks_us()


def time():
    """UTC seconds from the board's RTC (simulated: the world clock)."""
    if not _k.active:
        return _u.time()
    return EPOCH_OFFSET + _k.now_us() // 1000000


def time_ns():
    """UTC nanoseconds."""
    if not _k.active:
        return _u.time_ns()
    return (EPOCH_OFFSET * 1000000 + _k.now_us()) * 1000


def sleep_us(us):
    """Sleep; callbacks that fall due meanwhile run (as on the ESP32 port)."""
    _k.sleep_us(us)


def sleep_ms(ms):
    """Sleep for ms milliseconds."""
    _k.sleep_us(int(ms) * 1000)


def sleep(s):
    """Sleep for s seconds."""
    _k.sleep_us(int(s * 1000000))
