"""Base of the simulated I2C parts: a register file with auto-increment, hooks per register."""

import simkernel as _k


class RegisterDevice:
    """An I2C target; subclasses override read_reg/write_reg for registers with behaviour."""

    name = "device"
    size = 256

    def __init__(self):
        self.present = True  # False: the part is missing or dead, the address NACKs
        self.regs = bytearray(self.size)
        self.pointer = 0
        self.fail_reads = 0  # the next n reads raise OSError(EIO), like a glitching bus

    def read(self, reg, n):
        """Burst read of n bytes from reg (None: the current pointer)."""
        out = bytearray(n)
        self.read_into(reg, out)
        return out

    def read_into(self, reg, buf):
        """Burst read into buf without allocating (the I2C stand-in's readfrom_mem_into)."""
        if self.fail_reads:
            self.fail_reads -= 1
            raise OSError(5)  # EIO
        if reg is None:
            reg = self.pointer
        if self.fifo_register(reg):
            self.read_fifo(buf)
        else:
            for i in range(len(buf)):
                buf[i] = self.read_reg(reg) & 0xFF
                reg = (reg + 1) % self.size
        self.pointer = reg

    def read_fifo(self, buf):
        """Fill buf from a FIFO data port."""
        for i in range(len(buf)):
            buf[i] = 0

    def write(self, reg, data):
        """Burst write starting at reg."""
        for b in data:
            self.write_reg(reg, b)
            reg = (reg + 1) % self.size
        self.pointer = reg

    def fifo_register(self, reg):
        """True for a register that does not auto-increment (a FIFO data port)."""
        return False

    def read_reg(self, reg):
        """One register's value."""
        return self.regs[reg]

    def write_reg(self, reg, value):
        """Store one register."""
        self.regs[reg] = value

    def now_us(self):
        """The simulated clock."""
        return _k.now_us()
