# ruff: noqa: F821
# Freeze the band firmware into the MicroPython image (ESP32_GENERIC_S3 board build):
#   make -C ports/esp32 BOARD=ESP32_GENERIC_S3 FROZEN_MANIFEST=/path/to/sqjz/firmware/manifest.py
# Frozen modules run from flash: their bytecode and constants (the 24 KB Ed25519 base-point
# table in protocol/ed25519_table.py) cost no heap. See docs/ble.md and docs/benchmarks.md.
include("$(PORT_DIR)/boards/manifest.py")
for _name in (
    "__init__",
    "counter",
    "downlink",
    "ed25519",
    "ed25519_table",
    "errors",
    "frame",
    "gatt",
    "hmac256",
    "replay",
    "schema",
    "sha512",
    "x25519",
):
    module("protocol/%s.py" % _name, base_path="..", opt=3)
package("firmware", base_path="..", opt=3)
module("main.py", base_path="../hardware/board_root")
