"""Simulated Maxim MAX30101 PPG front end: FIFO pointers, multi-LED slots, A_FULL interrupt."""

import simkernel as _k
from simdev import RegisterDevice

PART_ID = 0x15
REG_INT_STATUS1 = 0x00
REG_INT_STATUS2 = 0x01
REG_INT_ENABLE1 = 0x02
REG_FIFO_WR_PTR = 0x04
REG_OVF_COUNTER = 0x05
REG_FIFO_RD_PTR = 0x06
REG_FIFO_DATA = 0x07
REG_FIFO_CONFIG = 0x08
REG_MODE_CONFIG = 0x09
REG_SPO2_CONFIG = 0x0A
REG_LED1_PA = 0x0C  # red
REG_LED2_PA = 0x0D  # IR
REG_LED3_PA = 0x0E  # green
REG_SLOT12 = 0x11
REG_SLOT34 = 0x12
REG_TEMP_INT = 0x1F
REG_TEMP_FRAC = 0x20
REG_TEMP_CONFIG = 0x21
REG_REV_ID = 0xFE
REG_PART_ID = 0xFF

DEPTH = 32
SR_HZ = (50, 100, 200, 400, 800, 1000, 1600, 3200)
FULL_LED_CODE = 0x7F  # LED current at which Body.ppg() counts apply; lower codes scale down


class SimMAX30101(RegisterDevice):
    """Samples the body's PPG into a 32-deep FIFO; INT (open drain, active low) on A_FULL."""

    name = "MAX30101"
    size = 0x100

    def __init__(self, body, int_pin):
        super().__init__()
        self.body = body
        self.int_net = _k.net(int_pin)
        self.overflows = 0
        self.on_us = 0  # time spent sampling (for the power model)
        self._token = None
        self._reset()

    def _reset(self):
        for i in range(self.size):
            self.regs[i] = 0
        self.regs[REG_PART_ID] = PART_ID
        self.regs[REG_REV_ID] = 0x03
        self.regs[REG_INT_STATUS1] = 0x01  # PWR_RDY after reset
        self._since = None  # body sample index of the next sample to enter the FIFO
        self._fifo = []  # (slot values tuple) oldest first
        self._ovf = 0
        self._byte = bytearray(18)  # one sample: up to 3 slots x 3 bytes
        self._pos = 0
        self._len = 0
        self._started_us = None
        self._update_int()

    def _running(self):
        mode = self.regs[REG_MODE_CONFIG] & 0x07
        return not self.regs[REG_MODE_CONFIG] & 0x80 and mode in (2, 3, 7)

    def _slots(self):
        mode = self.regs[REG_MODE_CONFIG] & 0x07
        if mode == 2:
            return (1,)
        if mode == 3:
            return (1, 2)
        out = []
        for reg, shift in ((REG_SLOT12, 0), (REG_SLOT12, 4), (REG_SLOT34, 0), (REG_SLOT34, 4)):
            s = (self.regs[reg] >> shift) & 0x07
            if s:
                out.append(s)
            else:
                break
        return tuple(out)

    def _decimation(self):
        # Samples reach the FIFO at SR / SMP_AVE; the body is sampled at 25 Hz.
        sr = SR_HZ[(self.regs[REG_SPO2_CONFIG] >> 2) & 0x07]
        ave = 1 << ((self.regs[REG_FIFO_CONFIG] >> 5) & 0x07)
        rate = sr // ave
        return max(1, 25 // max(1, rate)) if rate <= 25 else 1

    def _collect(self):
        if not self._running():
            self._since = None
            return
        now = self.now_us() * 25 // 1000000
        if self._since is None:
            self._since = now
            return
        step = self._decimation()
        slots = self._slots()
        while self._since + step <= now:
            self._since += step
            g, ir = self.body.ppg(self._since)
            vals = []
            for s in slots:
                led = self.regs[(REG_LED1_PA, REG_LED2_PA, REG_LED3_PA)[s - 1]] if s <= 3 else 0
                base = ir if s == 2 else (g if s == 3 else ir * 6 // 10)
                v = base * led // FULL_LED_CODE
                if s == 3 and self.body.rec_ppg is not None and led:
                    v = g  # a recording's PPG is played as the counts this part measured
                vals.append(max(0, min(0x3FFFF, v)))
            if len(self._fifo) >= DEPTH:
                if self.regs[REG_FIFO_CONFIG] & 0x10:  # rollover: overwrite the oldest
                    self._fifo.pop(0)
                else:
                    self._ovf = min(31, self._ovf + 1)
                    self.overflows += 1
                    continue
            self._fifo.append(vals)

    def fifo_register(self, reg):
        return reg == REG_FIFO_DATA

    def read_fifo(self, buf):
        self._collect()
        b = self._byte
        for i in range(len(buf)):
            if self._pos >= self._len:
                if self._fifo:
                    vals = self._fifo.pop(0)
                    j = 0
                    for v in vals:
                        b[j] = (v >> 16) & 0x03
                        b[j + 1] = (v >> 8) & 0xFF
                        b[j + 2] = v & 0xFF
                        j += 3
                    self._len = j
                    self._pos = 0
                    self._ovf = 0
                else:
                    buf[i] = 0
                    continue
            buf[i] = b[self._pos]
            self._pos += 1
        self._update_int()

    def read_reg(self, reg):
        if reg == REG_FIFO_WR_PTR:
            self._collect()
            return (self.regs[REG_FIFO_RD_PTR] + len(self._fifo)) & 0x1F
        if reg == REG_FIFO_RD_PTR:
            return self.regs[REG_FIFO_RD_PTR] & 0x1F
        if reg == REG_OVF_COUNTER:
            self._collect()
            return self._ovf
        if reg == REG_INT_STATUS1:
            self._collect()
            v = self.regs[REG_INT_STATUS1]
            if self._a_full():
                v |= 0x80
            self.regs[REG_INT_STATUS1] = 0  # reading clears the status
            self._update_int()
            return v
        if reg == REG_TEMP_INT:
            return self.body.temperature_c() & 0xFF
        if reg == REG_TEMP_CONFIG:
            return 0  # conversion finishes at once in the simulation
        return self.regs[reg]

    def write_reg(self, reg, value):
        if reg in (REG_PART_ID, REG_REV_ID, REG_INT_STATUS1, REG_INT_STATUS2):
            return
        if reg == REG_MODE_CONFIG and value & 0x40:
            self._reset()
            return
        was = self._running()
        self.regs[reg] = value
        if reg in (REG_FIFO_RD_PTR, REG_FIFO_WR_PTR):
            self._fifo = []
            self._pos = self._len = 0
            self.regs[REG_FIFO_RD_PTR] = 0
        now_run = self._running()
        if was != now_run:
            self._collect()
            if now_run:
                self._started_us = self.now_us()
            elif self._started_us is not None:
                self.on_us += self.now_us() - self._started_us
                self._started_us = None
        self._update_int()

    def _a_full(self):
        free = DEPTH - len(self._fifo)
        return free <= (self.regs[REG_FIFO_CONFIG] & 0x0F)

    def _update_int(self, _=None):
        if self._token is not None:
            _k.cancel(self._token)
            self._token = None
        self._collect()
        enabled = self.regs[REG_INT_ENABLE1] & 0x80
        asserted = bool(enabled and self._a_full())
        self.int_net.drive(0 if asserted else None)  # open drain: released = pulled up
        if enabled and not asserted and self._running() and self._since is not None:
            need = DEPTH - (self.regs[REG_FIFO_CONFIG] & 0x0F) - len(self._fifo)
            due = self._since + need * self._decimation()
            self._token = _k.at((due * 1000000 + 24) // 25 + 1, self._update_int)
