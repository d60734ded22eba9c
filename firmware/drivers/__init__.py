"""Drivers for the band's parts, written against their register maps (machine.I2C)."""


class DeviceError(Exception):
    """A part is missing, answers wrongly or the bus failed; the message names the part."""


def read_reg(i2c, addr, reg, part):
    """One register byte, or DeviceError naming the part."""
    try:
        return i2c.readfrom_mem(addr, reg, 1)[0]
    except OSError as exc:
        raise DeviceError("%s at I2C 0x%02x not answering (%s)" % (part, addr, exc)) from None


def write_reg(i2c, addr, reg, value, part):
    """Write one register byte, or DeviceError naming the part."""
    try:
        i2c.writeto_mem(addr, reg, bytes((value & 0xFF,)))
    except OSError as exc:
        raise DeviceError("%s at I2C 0x%02x not answering (%s)" % (part, addr, exc)) from None
