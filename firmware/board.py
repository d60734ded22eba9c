"""sqjz band rev A (ESP32-S3-MINI-1): the one file that wires pins, buses and parts.

Mirrors hardware/pins.md; the simulator builds its board from these constants too.
"""

FW_VERSION = 0x0100  # 1.0: major in the high byte
HW_REV = 1

# I2C0 at 400 kHz: accelerometer, PPG front end and fuel gauge share it.
I2C_ID = 0
PIN_SDA = 8
PIN_SCL = 9
I2C_FREQ = 400000
ADDR_ACCEL = 0x14  # Bosch BMA400, SDO to GND
ADDR_PPG = 0x57  # Maxim MAX30101 (fixed address)
ADDR_GAUGE = 0x36  # Maxim MAX17048 (fixed address)

PIN_ACCEL_INT = 4  # BMA400 INT1, push-pull active high: FIFO watermark
PIN_ACCEL_INT2 = 17  # BMA400 INT2, push-pull active high: wake-up on motion
PIN_PPG_INT = 5  # MAX30101 INT, open drain active low (10 k pull-up): FIFO almost full
PIN_GAUGE_ALRT = 6  # MAX17048 ALRT, open drain active low (not used for wake-up yet)
PIN_STRAP_SENSE = 2  # strap loop sense node: ADC1_CH1 and digital input, 10 M pull-up
PIN_STRAP_TEST = 12  # drives 3.3 V through 100 k into the sense node while measuring
PIN_VBUS = 7  # charger input present (divider from VBUS), high when charging cable in
PIN_BUTTON = 10  # SOS button to GND, internal pull-up
PIN_MOTOR = 11  # vibration motor through an N-MOSFET, PWM
PIN_CHG_STAT = 14  # MCP73831 STAT: low while charging, high when done (open drain + pull-up)
PIN_CASE = 13  # case switch to GND while the back cover is screwed on, internal pull-up

DATA_DIR = "/data"  # littlefs partition on the 8 MB flash; the firmware's files live here

# Strap loop: 47 k resistor moulded into the strap's conductive trace, 100 k test resistor.
STRAP_R_LOOP = 47000
STRAP_R_TEST = 100000
STRAP_MV_SUPPLY = 3300


def i2c():
    """The shared I2C bus."""
    from machine import I2C, Pin

    return I2C(I2C_ID, scl=Pin(PIN_SCL), sda=Pin(PIN_SDA), freq=I2C_FREQ)


def urandom(n):
    """n bytes from the ESP32-S3 hardware RNG (RF noise while the radio is on)."""
    import os

    return os.urandom(n)
