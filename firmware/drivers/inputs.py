"""Button, strap loop, case switch and charger status: GPIO and ADC, interrupts on change."""

from machine import ADC, Pin

STRAP_OK = 0  # loop closed with the strap's own resistance
STRAP_OPEN = 1  # loop broken: strap cut or buckle opened
STRAP_BRIDGED = 2  # loop closed but without the strap resistor: someone shorted it to cut it


class Button:
    """Active-low push button with an interrupt on both edges."""

    def __init__(self, pin_id, handler):
        self.pin = Pin(pin_id, Pin.IN, Pin.PULL_UP)
        self.pin.irq(handler, Pin.IRQ_FALLING | Pin.IRQ_RISING)

    def pressed(self):
        """True while held down."""
        return self.pin.value() == 0


class StrapLoop:
    """Conductive loop through the strap with a known resistance, checked two ways.

    The sense node has a 10 M pull-up: a broken loop reads high at once (interrupt, about
    0.3 uA while closed). A periodic check drives the node through 100 k and measures the
    divider with the ADC, so a loop bridged with a wire (to cut the strap) is seen too.
    """

    def __init__(self, sense_id, test_id, r_loop, r_test, supply_mv, handler):
        self.sense = Pin(sense_id, Pin.IN)
        self.test = Pin(test_id, Pin.IN)
        self._test_id = test_id
        self.adc = ADC(self.sense, atten=ADC.ATTN_11DB)
        ratio = r_loop * 1000 // (r_loop + r_test)
        self.expect_mv = supply_mv * ratio // 1000
        self.sense.irq(handler, Pin.IRQ_RISING | Pin.IRQ_FALLING)

    def is_open(self):
        """Fast digital check."""
        return self.sense.value() == 1

    def measure(self):
        """STRAP_OK, STRAP_OPEN or STRAP_BRIDGED from the resistance of the loop."""
        self.test.init(Pin.OUT, value=1)
        try:
            mv = self.adc.read_uv() // 1000
        finally:
            self.test.init(Pin.IN)
        # Accept +-35 % around the expected divider: resistor tolerance, ADC error, sweat.
        if mv > self.expect_mv * 135 // 100:
            return STRAP_OPEN
        if mv < self.expect_mv * 65 // 100:
            return STRAP_BRIDGED
        return STRAP_OK


class Switch:
    """A contact to ground with the internal pull-up (case cover, charger status)."""

    def __init__(self, pin_id, handler=None, pull=Pin.PULL_UP):
        self.pin = Pin(pin_id, Pin.IN, pull)
        if handler is not None:
            self.pin.irq(handler, Pin.IRQ_FALLING | Pin.IRQ_RISING)

    def low(self):
        """True when the contact is closed (pulled to ground)."""
        return self.pin.value() == 0


class Charger:
    """MCP73831 status plus VBUS sense: not charging, charging, or charged."""

    NONE = 0
    CHARGING = 1
    DONE = 2

    def __init__(self, vbus_id, stat_id, handler):
        self.vbus = Pin(vbus_id, Pin.IN, Pin.PULL_DOWN)
        self.stat = Pin(stat_id, Pin.IN, Pin.PULL_UP)
        self.vbus.irq(handler, Pin.IRQ_FALLING | Pin.IRQ_RISING)
        self.stat.irq(handler, Pin.IRQ_FALLING | Pin.IRQ_RISING)

    def state(self):
        """NONE, CHARGING or DONE."""
        if not self.vbus.value():
            return Charger.NONE
        return Charger.CHARGING if self.stat.value() == 0 else Charger.DONE
