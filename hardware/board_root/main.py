"""The board's root main.py (frozen): hand over to the firmware package."""

import firmware.main

firmware.main.main()
