"""The simulated wearer: wrist acceleration (mg) and PPG light levels, synthetic or recorded."""

# Everything per sample is integer arithmetic on tables built once, so the simulation allocates
# almost nothing while the firmware runs (keeps the firmware's heap measurement honest).

import array
import math

RATE_HZ = 25
STATES = ("rest", "walk", "labour", "sleep")

_SINE = array.array("h", [int(1000 * math.sin(2 * math.pi * i / 256)) for i in range(256)])


def _pulse_table():
    # One heartbeat of a wrist PPG (fast systolic upstroke, dicrotic notch), scaled 0..1000.
    out = array.array("h", bytes(128))
    for i in range(64):
        p = i / 64
        v = math.exp(-((p - 0.18) ** 2) / 0.006) + 0.35 * math.exp(-((p - 0.5) ** 2) / 0.01)
        out[i] = int(1000 * v / 1.02)
    return out


_PULSE = _pulse_table()


class Body:
    """Who wears the band and what they do; sampled at RATE_HZ by the simulated sensors."""

    def __init__(self, profile=None):
        p = profile or {}
        self.rest_hr = int(p.get("rest_hr", 66))
        self.hr = {
            "rest": self.rest_hr,
            "walk": int(p.get("walk_hr", self.rest_hr + 30)),
            "labour": int(p.get("labour_hr", self.rest_hr + 50)),
            "sleep": max(40, self.rest_hr - 8),
        }
        self.cadence_spm = int(p.get("cadence_spm", 108))
        sched = p.get("schedule") or [[3600, "rest"]]
        self.schedule = [(int(s[0]), s[1]) for s in sched]
        for _d, state in self.schedule:
            if state not in STATES:
                raise ValueError("unknown activity %r (known: %s)" % (state, ", ".join(STATES)))
        self.cycle_s = sum(d for d, _ in self.schedule) or 1
        self.worn = True
        self.forced = None  # an activity set by the simulator overrides the schedule
        self._seed = int(p.get("noise_seed", 12345)) & 0x3FFF
        self._last_n = -1
        self._acc = (0, 0, 1000)
        self._ppg = (0, 0)
        self.rec_acc = None  # array('h') x,y,z mg per sample, when playing a recording
        self.rec_ppg = None  # array('i') or None
        self.rec_len = 0

    def load_recording(self, acc_bytes, ppg_bytes):
        """Play a recording (25 Hz, mg as int16 x,y,z; PPG as int32) in a loop instead."""
        self.rec_acc = array.array("h", acc_bytes)
        self.rec_len = len(self.rec_acc) // 3
        self.rec_ppg = array.array("i", ppg_bytes) if ppg_bytes else None

    def state_at(self, n):
        """Activity at sample n."""
        if self.forced is not None:
            return self.forced
        t = (n // RATE_HZ) % self.cycle_s
        for d, state in self.schedule:
            if t < d:
                return state
            t -= d
        return "rest"

    def _noise(self, n, channel, amp):
        # A hash of (n, channel): the same sample reads the same whatever asks first. Kept
        # below 2**30 so MicroPython stays in small ints (no heap).
        x = ((n & 0x3FFF) * 40503 + channel * 9973 + self._seed) & 0xFFFF
        x = (x * 25173 + 13849) & 0xFFFF
        return (x % (2 * amp + 1)) - amp

    def _advance(self, n):
        if n == self._last_n:
            return
        self._last_n = n
        if not self.worn:
            self._acc = (12 + self._noise(n, 1, 4), -8 + self._noise(n, 2, 4), 1002)
            self._ppg = (1800 + self._noise(n, 4, 40), 2600 + self._noise(n, 5, 60))
            return
        state = self.state_at(n)
        hr = self.hr[state]
        beat = ((n % 1500) * hr % 1500) * 64 // 1500  # 64 steps per beat, 1500 = 60 s * 25 Hz
        if self.rec_acc is not None:
            i = (n % self.rec_len) * 3
            ax, ay, az = self.rec_acc[i], self.rec_acc[i + 1], self.rec_acc[i + 2]
        elif state == "walk":
            stride = ((n % 3000) * self.cadence_spm % 3000) * 256 // 3000  # 2 steps per stride
            s = _SINE[stride]  # arm swing: once per stride
            d = _SINE[(stride * 2) & 0xFF]  # heel strikes: twice per stride
            ax = 180 + s * 45 // 100 + self._noise(n, 1, 25)
            ay = -350 + d * 22 // 100 + self._noise(n, 2, 25)
            az = 880 + d * 30 // 100 + s * 10 // 100 + self._noise(n, 3, 25)
        elif state == "labour":
            ph = (n % 250) * 256 // 250 * 7 // 2 & 0xFF  # irregular 0.7 and 2.1 Hz movements
            s = _SINE[ph]
            d = _SINE[(ph * 3) & 0xFF]
            ax = 300 + s * 50 // 100 + self._noise(n, 1, 60)
            ay = -500 + d * 35 // 100 + self._noise(n, 2, 60)
            az = 700 + (s + d) * 20 // 100 + self._noise(n, 3, 60)
        else:
            ax = 90 + self._noise(n, 1, 6)
            ay = -260 + self._noise(n, 2, 6)
            az = 955 + self._noise(n, 3, 6)
        self._acc = (ax, ay, az)
        if self.rec_ppg is not None:
            g = self.rec_ppg[n % len(self.rec_ppg)]
        else:
            motion = (abs(ax - 90) + abs(az - 955)) // 4  # artefact grows with movement
            g = 90000 + _PULSE[beat] * 9 // 10 + self._noise(n, 4, 25) + motion
        self._ppg = (g, 140000 + self._noise(n, 5, 80))

    def accel(self, n):
        """(x, y, z) in mg at sample n (25 Hz since power-up)."""
        self._advance(n)
        return self._acc

    def ppg(self, n):
        """(green, ir) photodiode counts at full LED current, sample n."""
        self._advance(n)
        return self._ppg

    def temperature_c(self):
        """Skin-side board temperature."""
        return 31 if self.worn else 24
