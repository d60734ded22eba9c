"""BLE for tests and the demo: a bleak backend over bumble, bumble peripherals for bands."""
