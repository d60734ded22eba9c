"""Maxim MAX30101 PPG: green LED for the pulse, IR for skin contact, 25 samples/s via FIFO."""

from firmware.drivers import DeviceError, read_reg, write_reg

PART_ID = 0x15
REG_INT_STATUS1 = 0x00
REG_INT_ENABLE1 = 0x02
REG_FIFO_WR_PTR = 0x04
REG_OVF_COUNTER = 0x05
REG_FIFO_RD_PTR = 0x06
REG_FIFO_DATA = 0x07
REG_FIFO_CONFIG = 0x08
REG_MODE_CONFIG = 0x09
REG_SPO2_CONFIG = 0x0A
REG_LED2_PA = 0x0D
REG_LED3_PA = 0x0E
REG_SLOT12 = 0x11
REG_TEMP_INT = 0x1F
REG_PART_ID = 0xFF

MODE_SHUTDOWN = 0x80
MODE_RESET = 0x40
MODE_MULTI_LED = 0x07
SLOT_GREEN_IR = (2 << 4) | 3  # slot 1 green (LED3), slot 2 IR (LED2)
FIFO_AVE2_AFULL7 = (1 << 5) | 7  # average 2 (50 -> 25 Hz); interrupt at 25 unread samples
SPO2_16UA_50HZ_411US = (3 << 5) | (0 << 2) | 3  # ADC range 16384 nA, 50 sps, 18-bit
A_FULL_EN = 0x80
GREEN_PA = 0x24  # 7.2 mA: enough through the skin of the wrist, see hardware/power.md
IR_PA = 0x0A  # 2.0 mA: only for skin contact
DEPTH = 32
SAMPLE_BYTES = 6
PART = "PPG MAX30101"


class MAX30101:
    """Green and IR samples at 25 Hz; start()/stop() switch the LEDs and the ADC."""

    def __init__(self, i2c, addr):
        self.i2c = i2c
        self.addr = addr
        self.running = False
        self.pulse = False  # the green LED is on (heart rate), not only the IR (skin check)
        self.overflows = 0  # samples lost because the FIFO filled before it was read
        self._buf = bytearray(DEPTH * SAMPLE_BYTES)
        self._mv = memoryview(self._buf)
        self._ptr = bytearray(3)
        part = read_reg(i2c, addr, REG_PART_ID, PART)
        if part != PART_ID:
            raise DeviceError("%s: part id 0x%02x, expected 0x%02x" % (PART, part, PART_ID))
        self._w(REG_MODE_CONFIG, MODE_RESET)
        for _ in range(10):  # the reset bit clears itself within about 1 ms
            if not read_reg(i2c, addr, REG_MODE_CONFIG, PART) & MODE_RESET:
                break
        else:
            raise DeviceError("%s stuck in reset" % PART)
        read_reg(i2c, addr, REG_INT_STATUS1, PART)  # clear power-ready
        self._w(REG_FIFO_CONFIG, FIFO_AVE2_AFULL7)
        self._w(REG_SPO2_CONFIG, SPO2_16UA_50HZ_411US)
        self._w(REG_SLOT12, SLOT_GREEN_IR)
        self._w(REG_LED3_PA, GREEN_PA)
        self._w(REG_LED2_PA, IR_PA)
        self._w(REG_INT_ENABLE1, A_FULL_EN)
        self._w(REG_MODE_CONFIG, MODE_SHUTDOWN | MODE_MULTI_LED)

    def _w(self, reg, value):
        write_reg(self.i2c, self.addr, reg, value, PART)

    def start(self, pulse=True):
        """LEDs and ADC on; the FIFO starts empty. pulse=False: IR only (skin check)."""
        self._w(REG_LED3_PA, GREEN_PA if pulse else 0)
        self.pulse = pulse
        self._w(REG_FIFO_WR_PTR, 0)
        self._w(REG_OVF_COUNTER, 0)
        self._w(REG_FIFO_RD_PTR, 0)
        self._w(REG_MODE_CONFIG, MODE_MULTI_LED)
        self.running = True

    def stop(self):
        """Shutdown mode: LEDs off, 0.7 uA."""
        self._w(REG_MODE_CONFIG, MODE_SHUTDOWN | MODE_MULTI_LED)
        self.running = False

    def read_fifo(self, green, ir):
        """Move waiting samples into green and ir (raw counts); return how many."""
        try:
            self.i2c.readfrom_mem_into(self.addr, REG_FIFO_WR_PTR, self._ptr)
            wr = self._ptr[0] & 0x1F
            ovf = self._ptr[1] & 0x1F
            rd = self._ptr[2] & 0x1F
            n = DEPTH if ovf else (wr - rd) & 0x1F
            self.overflows += ovf
            n = min(n, len(green))
            if n == 0:
                return 0
            self.i2c.readfrom_mem_into(self.addr, REG_FIFO_DATA, self._mv[: n * SAMPLE_BYTES])
            read_reg(self.i2c, self.addr, REG_INT_STATUS1, PART)  # clears A_FULL
        except OSError as exc:
            raise DeviceError("%s FIFO read failed (%s)" % (PART, exc)) from None
        b = self._buf
        for i in range(n):
            j = i * SAMPLE_BYTES
            green[i] = (b[j] & 0x03) << 16 | b[j + 1] << 8 | b[j + 2]
            ir[i] = (b[j + 3] & 0x03) << 16 | b[j + 4] << 8 | b[j + 5]
        return n
