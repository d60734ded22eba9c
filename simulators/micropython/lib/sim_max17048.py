"""Simulated Maxim MAX17048 fuel gauge over a simple Li-ion cell and charger model."""

import simkernel as _k
from simdev import RegisterDevice

REG_VCELL = 0x02
REG_SOC = 0x04
REG_MODE = 0x06
REG_VERSION = 0x08
REG_HIBRT = 0x0A
REG_CONFIG = 0x0C
REG_CRATE = 0x16
REG_VRESET_ID = 0x18
REG_STATUS = 0x1A
REG_CMD = 0xFE

# Open-circuit voltage (mV) of a LiPo cell at 0, 10, ... 100 % state of charge.
_OCV = (3300, 3600, 3690, 3740, 3770, 3800, 3850, 3920, 3990, 4080, 4180)


def ocv_mv(pct):
    """Cell voltage at a state of charge, by linear interpolation."""
    pct = max(0, min(100, pct))
    i = min(9, int(pct // 10))
    return _OCV[i] + (_OCV[i + 1] - _OCV[i]) * (pct - 10 * i) / 10


class Cell:
    """A LiPo cell drained by the band's average current and filled by the charger."""

    def __init__(self, capacity_mah=400, drain_ma=1.5, percent=90.0):
        self.capacity_mah = capacity_mah
        self.drain_ma = drain_ma
        self.charge_ma = 120.0
        self.percent = float(percent)
        self.charging = False  # a charger is connected (VBUS)
        self._t_us = _k.now_us()

    def update(self):
        """Integrate charge since the last look."""
        now = _k.now_us()
        hours = (now - self._t_us) / 3600e6
        self._t_us = now
        ma = -self.drain_ma + (self.charge_ma if self.charging and self.percent < 100 else 0)
        self.percent = max(0.0, min(100.0, self.percent + 100 * ma * hours / self.capacity_mah))

    def rate_pct_h(self):
        """Signed %/h right now."""
        ma = -self.drain_ma + (self.charge_ma if self.charging and self.percent < 100 else 0)
        return 100 * ma / self.capacity_mah


class SimMAX17048(RegisterDevice):
    """The gauge's 16-bit big-endian registers over a Cell."""

    name = "MAX17048"
    size = 0x100

    def __init__(self, cell):
        super().__init__()
        self.cell = cell
        self._config = 0x971C
        self._mode = 0
        self._hibrt = 0x8030

    def _word(self, reg):
        c = self.cell
        c.update()
        if reg == REG_VCELL:
            return int(ocv_mv(c.percent) * 64 / 5) & 0xFFFF  # 78.125 uV per bit
        if reg == REG_SOC:
            return int(c.percent * 256) & 0xFFFF
        if reg == REG_VERSION:
            return 0x0012
        if reg == REG_CRATE:
            return int(c.rate_pct_h() / 0.208) & 0xFFFF
        if reg == REG_CONFIG:
            return self._config
        if reg == REG_MODE:
            return self._mode
        if reg == REG_HIBRT:
            return self._hibrt
        if reg == REG_VRESET_ID:
            return 0x9600
        if reg == REG_STATUS:
            return 0x0000
        return 0

    def read_reg(self, reg):
        # Registers are 16 bits at even addresses: high byte first.
        word = self._word(reg & 0xFE)
        return (word >> 8) & 0xFF if reg % 2 == 0 else word & 0xFF

    def write(self, reg, data):
        if len(data) >= 2:
            word = data[0] << 8 | data[1]
            if reg == REG_CONFIG:
                self._config = word
            elif reg == REG_MODE:
                self._mode = word
            elif reg == REG_HIBRT:
                self._hibrt = word
