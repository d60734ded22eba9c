"""Bosch BMA400 accelerometer: 25 Hz, +-4 g, 12-bit FIFO drained in batches (INT1 watermark);
low-power sleep that wakes on motion (INT2) while the wrist is still."""

import time

from firmware.drivers import DeviceError, read_reg, write_reg

CHIP_ID = 0x90
REG_CHIP_ID = 0x00
REG_TEMP = 0x11
REG_FIFO_LENGTH0 = 0x12
REG_FIFO_DATA = 0x14
REG_ACC_CONFIG0 = 0x19
REG_ACC_CONFIG1 = 0x1A
REG_INT_CONFIG0 = 0x1F
REG_INT_STAT0 = 0x0E
REG_INT1_MAP = 0x21
REG_INT2_MAP = 0x22
REG_AUTOWAKEUP_1 = 0x2D
REG_WKUP_INT_CONFIG0 = 0x2F
REG_WKUP_INT_CONFIG1 = 0x30
REG_INT12_IO_CTRL = 0x24
REG_FIFO_CONFIG0 = 0x26
REG_FIFO_CONFIG1 = 0x27
REG_FIFO_CONFIG2 = 0x28
REG_CMD = 0x7E

CMD_SOFT_RESET = 0xB6
CMD_FIFO_FLUSH = 0xB0
MODE_NORMAL = 0x02
ODR_25HZ = 0x06
RANGE_4G = 0x01
FIFO_XYZ = 0xE0  # x, y, z enabled, 12-bit frames, no sensor time
FIFO_WM_INT = 0x40
INT1_ACTIVE_HIGH = 0x02
INT2_ACTIVE_HIGH = 0x20
MODE_LOW_POWER = 0x01
WKUP_XYZ_EVERY_TIME = 0xE0 | 0x02  # all axes, one sample, reference updated every sample
WKUP_INT = 0x02  # AUTOWAKEUP_1: the wake-up interrupt switches the part to normal mode
WKUP_MAP = 0x01
FRAME_XYZ = 0x8E
FRAME_LEN = 7
FIFO_BYTES = 1024
PART = "accelerometer BMA400"


class BMA400:
    """Streams x, y, z in mg; read_fifo() fills caller-provided arrays without allocating."""

    def __init__(self, i2c, addr, watermark_frames=25):
        self.i2c = i2c
        self.addr = addr
        self.lost = 0  # frames the driver could not decode (bus glitch, config change)
        self._buf = bytearray(FIFO_BYTES)
        self._mv = memoryview(self._buf)
        self._len = bytearray(2)
        chip = read_reg(i2c, addr, REG_CHIP_ID, PART)
        if chip != CHIP_ID:
            raise DeviceError("%s: chip id 0x%02x, expected 0x%02x" % (PART, chip, CHIP_ID))
        self._w(REG_CMD, CMD_SOFT_RESET)
        time.sleep_ms(2)  # start-up after soft reset: 1 ms in the datasheet
        if read_reg(i2c, addr, REG_CHIP_ID, PART) != CHIP_ID:
            raise DeviceError("%s did not come back after reset" % PART)
        self._w(REG_ACC_CONFIG1, (RANGE_4G << 6) | ODR_25HZ)
        self._w(REG_FIFO_CONFIG0, FIFO_XYZ)
        self.set_watermark(watermark_frames)
        self._w(REG_INT12_IO_CTRL, INT1_ACTIVE_HIGH | INT2_ACTIVE_HIGH)
        self.low_power = False
        self._w(REG_INT1_MAP, FIFO_WM_INT)
        self._w(REG_INT_CONFIG0, FIFO_WM_INT)
        self._w(REG_ACC_CONFIG0, MODE_NORMAL)
        self._w(REG_CMD, CMD_FIFO_FLUSH)

    def _w(self, reg, value):
        write_reg(self.i2c, self.addr, reg, value, PART)

    def set_watermark(self, frames):
        """Raise INT1 once this many samples wait (batching sets how often the CPU wakes)."""
        n = max(1, min(FIFO_BYTES // FRAME_LEN - 1, frames)) * FRAME_LEN
        self._w(REG_FIFO_CONFIG1, n & 0xFF)
        self._w(REG_FIFO_CONFIG2, n >> 8)

    def read_fifo(self, xs, ys, zs):
        """Move waiting samples into xs, ys, zs (mg); return how many, at most len(xs)."""
        try:
            self.i2c.readfrom_mem_into(self.addr, REG_FIFO_LENGTH0, self._len)
            length = (self._len[0] | (self._len[1] & 0x07) << 8) // FRAME_LEN * FRAME_LEN
            length = min(length, len(xs) * FRAME_LEN)
            if length == 0:
                return 0
            buf = self._mv[:length]
            self.i2c.readfrom_mem_into(self.addr, REG_FIFO_DATA, buf)
        except OSError as exc:
            raise DeviceError("%s FIFO read failed (%s)" % (PART, exc)) from None
        n = 0
        i = 0
        b = self._buf
        while i + FRAME_LEN <= length:
            if b[i] != FRAME_XYZ:
                # A control or empty frame: nothing to decode after it in this burst.
                self.lost += (length - i) // FRAME_LEN
                break
            xs[n] = _mg(b[i + 1], b[i + 2])
            ys[n] = _mg(b[i + 3], b[i + 4])
            zs[n] = _mg(b[i + 5], b[i + 6])
            n += 1
            i += FRAME_LEN
        return n

    def temperature_c(self):
        """Die temperature, 0.5 K resolution, rounded to whole degrees."""
        raw = read_reg(self.i2c, self.addr, REG_TEMP, PART)
        if raw > 127:
            raw -= 256
        return 23 + raw // 2

    def sleep_until_motion(self, threshold_mg):
        """Low-power mode (about 1 uA) without FIFO; INT2 rises when a sample moves more than
        threshold_mg from the one before, and the part is back in normal mode by then."""
        self._w(REG_FIFO_CONFIG0, 0x00)
        self._w(REG_WKUP_INT_CONFIG1, max(1, min(255, threshold_mg // 8)))  # 8 mg per LSB
        self._w(REG_WKUP_INT_CONFIG0, WKUP_XYZ_EVERY_TIME)
        self._w(REG_INT2_MAP, WKUP_MAP)
        self._w(REG_AUTOWAKEUP_1, WKUP_INT)
        self._w(REG_ACC_CONFIG0, MODE_LOW_POWER)
        self.low_power = True

    def resume(self):
        """Back to streaming 25 Hz into the FIFO after a wake-up."""
        read_reg(self.i2c, self.addr, REG_INT_STAT0, PART)  # clears the latched wake-up
        self._w(REG_AUTOWAKEUP_1, 0)
        self._w(REG_INT2_MAP, 0)
        self._w(REG_ACC_CONFIG0, MODE_NORMAL)
        self._w(REG_FIFO_CONFIG0, FIFO_XYZ)
        self._w(REG_CMD, CMD_FIFO_FLUSH)
        self.low_power = False

    def sleep(self):
        """Stop sampling (about 0.16 uA)."""
        self._w(REG_ACC_CONFIG0, 0x00)


def _mg(lsb, msb):
    v = lsb | (msb & 0x0F) << 8
    if v > 2047:
        v -= 4096
    return (v * 125) >> 6  # +-4 g: 512 LSB per g, so mg = v * 1000 / 512
