"""Firmware entry: start the band, then sleep; timers, pins and the radio do the work.

On the board the root main.py is `import firmware.main; firmware.main.run()`.
"""

import time

IDLE_MS = 60000  # nothing to do in the loop itself: every job is a scheduled callback


def start():
    """Bring up storage, keys, parts and radio; returns the running band."""
    from firmware.app import Band

    return Band()


def run(band=None, until_ms=None):
    """The main loop. The simulator passes until_ms (its clock) to stop; the board never does."""
    if band is None:
        band = start()
    while until_ms is None or time.ticks_diff(until_ms, time.ticks_ms()) > 0:
        wait = IDLE_MS
        if until_ms is not None:
            wait = min(wait, time.ticks_diff(until_ms, time.ticks_ms()))
        # Scheduled callbacks run inside the sleep (the ESP32 port services its scheduler
        # there); with automatic light sleep the CPU stops between them.
        time.sleep_ms(wait)
    return band


def main():
    """Board entry: run forever; on an unexpected error log it and reset (state is in flash)."""
    try:
        run()
    except Exception as exc:  # the last line of defence on the device
        import machine

        try:
            with open("/data/crash.txt", "a") as f:
                f.write("%d %r\n" % (time.ticks_ms(), exc))
        except OSError:
            pass
        time.sleep_ms(1000)
        machine.reset()
