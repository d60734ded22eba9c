"""Simulated Bosch BMA400 accelerometer: the registers, FIFO, INT1 and wake-up on INT2."""

import simkernel as _k
from simdev import RegisterDevice

CHIP_ID = 0x90
REG_CHIP_ID = 0x00
REG_STATUS = 0x03
REG_ACC_X_LSB = 0x04
REG_INT_STAT0 = 0x0E
REG_TEMP = 0x11
REG_FIFO_LENGTH0 = 0x12
REG_FIFO_LENGTH1 = 0x13
REG_FIFO_DATA = 0x14
REG_ACC_CONFIG0 = 0x19
REG_ACC_CONFIG1 = 0x1A
REG_INT_CONFIG0 = 0x1F
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

FIFO_BYTES = 1024
FRAME_XYZ_12BIT = 0x8E  # header of a 12-bit x/y/z data frame
FRAME_EMPTY = 0x80
ODR_HZ = {0x05: 12.5, 0x06: 25, 0x07: 50, 0x08: 100, 0x09: 200, 0x0A: 400, 0x0B: 800}


class SimBMA400(RegisterDevice):
    """Samples the body at the configured rate into a 1 KB FIFO; INT1 signals the watermark."""

    name = "BMA400"
    size = 0x80

    def __init__(self, body, int1_pin, int2_pin):
        super().__init__()
        self.body = body
        self.int1 = _k.net(int1_pin)
        self.int2 = _k.net(int2_pin)
        self.resets = 0
        self.overflows = 0
        self.wakeups = 0
        self.low_power_us = 0  # time spent in low-power mode (for the power model)
        self._token = None
        self._wk_token = None
        self._lp_since = None
        self._wk_stat = False
        self._reset()

    def _reset(self):
        for i in range(self.size):
            self.regs[i] = 0
        self.regs[REG_CHIP_ID] = CHIP_ID
        self.regs[REG_ACC_CONFIG1] = 0x49  # reset value: +-4 g, osr 0, 200 Hz
        self.regs[REG_FIFO_CONFIG1] = 0x00
        self._next = None  # index (25 Hz body samples) of the oldest sample in the FIFO
        self._frame = bytearray(7)
        self._pos = 7  # bytes of _frame already read out
        self._update_int()

    # Sampling -----------------------------------------------------------------------------

    def _running(self):
        return self.regs[REG_ACC_CONFIG0] & 0x03 in (1, 2) and self.regs[REG_FIFO_CONFIG0] & 0xE0

    def _rate(self):
        return ODR_HZ.get(self.regs[REG_ACC_CONFIG1] & 0x0F, 25)

    def _sample_index(self, t_us):
        return t_us * 25 // 1000000  # body samples are at 25 Hz

    def _fill(self):
        """Frames the FIFO holds now (oldest dropped when it overflows)."""
        if not self._running():
            return 0
        now = self._sample_index(self.now_us())
        if self._next is None:
            self._next = now
        step = max(1, int(25 / self._rate())) if self._rate() <= 25 else 1
        n = (now - self._next) // step
        cap = FIFO_BYTES // 7
        if n > cap:
            self.overflows += n - cap
            self._next += (n - cap) * step
            n = cap
        return n

    def _pop_frame(self, frame):
        step = max(1, int(25 / self._rate())) if self._rate() <= 25 else 1
        x, y, z = self.body.accel(self._next)
        self._next += step
        per_g = (1024, 512, 256, 128)[self.regs[REG_ACC_CONFIG1] >> 6]
        frame[0] = FRAME_XYZ_12BIT
        i = 1
        for mg in (x, y, z):
            v = mg * per_g // 1000
            v = max(-2048, min(2047, v)) & 0xFFF
            frame[i] = v & 0xFF
            frame[i + 1] = v >> 8
            i += 2

    # Registers ----------------------------------------------------------------------------

    def fifo_register(self, reg):
        return reg == REG_FIFO_DATA

    def read_fifo(self, buf):
        # Whole frames while there are samples, then "empty" frames, as the part does.
        frame = self._frame
        i = 0
        n = len(buf)
        while i < n:
            if self._pos >= 7:
                if self._fill() > 0:
                    self._pop_frame(frame)
                    self._pos = 0
                else:
                    buf[i] = FRAME_EMPTY
                    if i + 1 < n:
                        buf[i + 1] = 0
                    i += 2
                    continue
            buf[i] = frame[self._pos]
            self._pos += 1
            i += 1
        self._update_int()

    def read_reg(self, reg):
        if reg in (REG_FIFO_LENGTH0, REG_FIFO_LENGTH1):
            n = self._fill() * 7
            return n & 0xFF if reg == REG_FIFO_LENGTH0 else (n >> 8) & 0x07
        if reg == REG_TEMP:
            return ((self.body.temperature_c() - 23) * 2) & 0xFF
        if REG_ACC_X_LSB <= reg <= REG_ACC_X_LSB + 5:
            x, y, z = self.body.accel(self._sample_index(self.now_us()))
            axis = (x, y, z)[(reg - REG_ACC_X_LSB) // 2]
            v = (axis * 512 // 1000) & 0xFFF
            return v & 0xFF if (reg - REG_ACC_X_LSB) % 2 == 0 else v >> 8
        if reg == REG_STATUS:
            return (self.regs[REG_ACC_CONFIG0] & 0x03) << 1
        if reg == REG_INT_STAT0:
            v = (0x40 if self._wm_reached() else 0) | (0x01 if self._wk_stat else 0)
            self._wk_stat = False  # latched wake-up status clears on read
            self._update_wakeup()
            return v
        return self.regs[reg]

    def write_reg(self, reg, value):
        if reg == REG_CMD:
            if value == 0xB6:  # soft reset
                self.resets += 1
                self._reset()
            elif value == 0xB0:  # FIFO flush
                self._next = None
                self._pos = 7
                self._update_int()
            return
        if reg in (REG_CHIP_ID, REG_STATUS, REG_FIFO_LENGTH0, REG_FIFO_LENGTH1, REG_TEMP):
            return  # read-only
        self.regs[reg] = value
        if reg in (REG_ACC_CONFIG0, REG_FIFO_CONFIG0) and not self._running():
            self._next = None
        self._update_int()
        self._update_wakeup()

    # Interrupt line -----------------------------------------------------------------------

    def _watermark(self):
        wm = self.regs[REG_FIFO_CONFIG1] | (self.regs[REG_FIFO_CONFIG2] & 0x07) << 8
        return wm

    def _wm_reached(self):
        wm = self._watermark()
        return wm > 0 and self._fill() * 7 >= wm

    def _update_int(self, _=None):
        if self._token is not None:
            _k.cancel(self._token)
            self._token = None
        enabled = self.regs[REG_INT_CONFIG0] & 0x40 and self.regs[REG_INT1_MAP] & 0x40
        active_high = self.regs[REG_INT12_IO_CTRL] & 0x02
        asserted = bool(enabled and self._wm_reached())
        level = asserted if active_high else not asserted
        self.int1.drive(1 if level else 0)
        if enabled and not asserted and self._running():
            # When will the FIFO reach the watermark? Wake the line then.
            frames = (self._watermark() + 6) // 7
            have = self._fill()
            step = max(1, int(25 / self._rate())) if self._rate() <= 25 else 1
            due = (self._next + frames * step) if self._next is not None else None
            if due is not None and frames > have:
                self._token = _k.at((due * 1000000 + 24) // 25 + 1, self._update_int)

    # Wake-up on motion (low-power mode) --------------------------------------------------

    def _low_power(self):
        return self.regs[REG_ACC_CONFIG0] & 0x03 == 1

    def _update_wakeup(self, _=None):
        lp = self._low_power()
        now = self.now_us()
        if lp and self._lp_since is None:
            self._lp_since = now
        elif not lp and self._lp_since is not None:
            self.low_power_us += now - self._lp_since
            self._lp_since = None
        armed = lp and self.regs[REG_AUTOWAKEUP_1] & 0x02 and self.regs[REG_WKUP_INT_CONFIG0] & 0xE0
        if self._wk_token is not None:
            _k.cancel(self._wk_token)
            self._wk_token = None
        if armed:
            self._wk_token = _k.at(now + 200000, self._wake_check)
        self._drive_int2()

    def _drive_int2(self):
        mapped = self.regs[REG_INT2_MAP] & 0x01
        level = bool(mapped and self._wk_stat)
        if not self.regs[REG_INT12_IO_CTRL] & 0x20:  # int2_lvl: 1 = active high
            level = not level
        self.int2.drive(1 if level else 0)

    def _wake_check(self, _):
        # The part compares every low-power sample with the one before (reference updated
        # every time); the model looks at a pair of consecutive samples every 200 ms.
        self._wk_token = None
        n = self._sample_index(self.now_us())
        last = self.body.accel(n - 1)
        cur = self.body.accel(n)
        thr = self.regs[REG_WKUP_INT_CONFIG1] * 8  # 8 mg per LSB at +-4 g (top 8 of 12 bits)
        en = self.regs[REG_WKUP_INT_CONFIG0]
        moved = (
            (en & 0x20 and abs(cur[0] - last[0]) > thr)
            or (en & 0x40 and abs(cur[1] - last[1]) > thr)
            or (en & 0x80 and abs(cur[2] - last[2]) > thr)
        )
        if moved:
            self.wakeups += 1
            self._wk_stat = True
            self.regs[REG_ACC_CONFIG0] = (self.regs[REG_ACC_CONFIG0] & 0xFC) | 0x02
            self._update_wakeup()
            return
        self._wk_token = _k.at(self.now_us() + 200000, self._wake_check)
