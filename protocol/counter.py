"""Band frame counter: kept in RAM, with a ceiling written ahead to flash before use."""

RESERVE = 256  # counters reserved per flash write: bounds wear and the gap after a reset


class Counter:
    """Hands out strictly increasing counters that survive resets without flash per frame.

    `load()` returns the stored ceiling (0 if none); `save(n)` must durably store n before
    returning. After a reset counting resumes at the stored ceiling, so a counter is never
    reused; the receiver sees a gap of at most RESERVE and reports it.
    """

    def __init__(self, load, save):
        self._save = save
        self._next = load()
        self._ceiling = self._next

    def next(self):
        """The next counter value."""
        value = self._next
        if value >= self._ceiling:
            if value + RESERVE > 0xFFFFFFFF:
                raise OverflowError("frame counter exhausted; the band must be re-keyed")
            self._ceiling = value + RESERVE
            self._save(self._ceiling)
        self._next = value + 1
        return value

    @property
    def peek(self):
        """The value next() would return, without reserving it."""
        return self._next
