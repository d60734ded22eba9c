"""Maxim MAX17048 fuel gauge (ModelGauge, no sense resistor): cell voltage, charge, rate."""

from firmware.drivers import DeviceError

REG_VCELL = 0x02
REG_SOC = 0x04
REG_VERSION = 0x08
REG_CRATE = 0x16
PART = "fuel gauge MAX17048"


class MAX17048:
    """Reads the gauge's 16-bit big-endian registers; it runs on its own (3 uA hibernated)."""

    def __init__(self, i2c, addr):
        self.i2c = i2c
        self.addr = addr
        self._b = bytearray(2)
        version = self._word(REG_VERSION)
        if version & 0xFFF0 != 0x0010:
            raise DeviceError("%s: version 0x%04x, expected 0x001x" % (PART, version))

    def _word(self, reg):
        try:
            self.i2c.readfrom_mem_into(self.addr, reg, self._b)
        except OSError as exc:
            raise DeviceError(
                "%s at I2C 0x%02x not answering (%s)" % (PART, self.addr, exc)
            ) from None
        return self._b[0] << 8 | self._b[1]

    def millivolts(self):
        """Cell voltage (78.125 uV per bit)."""
        return self._word(REG_VCELL) * 5 // 64

    def percent(self):
        """State of charge, whole percent 0..100."""
        return min(100, self._word(REG_SOC) >> 8)

    def rate_pct_per_hour_x10(self):
        """Charge (+) or discharge (-) rate in 0.1 %/h (0.208 %/h per bit)."""
        v = self._word(REG_CRATE)
        if v > 32767:
            v -= 65536
        return v * 208 // 100
