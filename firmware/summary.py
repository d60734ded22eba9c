"""Accumulators for activity windows and community-service sessions (pure, no hardware)."""

WALK = "walk"
LABOUR = "labour"


def _u16(v):
    return max(0, min(0xFFFF, int(v)))


def _u32(v):
    return max(0, min(0xFFFFFFFF, int(v)))


class Window:
    """One activity window: the fields of an `activity` frame."""

    def __init__(self):
        self.seconds = 0
        self.steps = 0
        self.kcal = 0.0
        self.hr_sum = 0
        self.hr_n = 0
        self.hr_min = 0
        self.hr_max = 0
        self.worn_s = 0
        self.rest_s = 0
        self.walk_s = 0
        self.labour_s = 0

    def add(self, seconds, steps, bpm, activity, kcal, worn):
        """Account `seconds` of data; steps, kcal and classes only count while worn."""
        self.seconds += seconds
        if not worn:
            return
        self.worn_s += seconds
        self.steps += steps
        self.kcal += kcal
        if activity == WALK:
            self.walk_s += seconds
        elif activity == LABOUR:
            self.labour_s += seconds
        else:
            self.rest_s += seconds
        if bpm is not None:
            self.hr_sum += bpm * seconds
            self.hr_n += seconds
            self.hr_min = bpm if not self.hr_min else min(self.hr_min, bpm)
            self.hr_max = max(self.hr_max, bpm)

    def fields(self, session_id):
        """Payload of the activity frame for this window."""
        return {
            "window_s": _u16(self.seconds),
            "steps": _u16(self.steps),
            "kcal_x10": _u16(self.kcal * 10 + 0.5),
            "hr_mean": min(255, self.hr_sum // self.hr_n) if self.hr_n else 0,
            "hr_min": min(255, self.hr_min),
            "hr_max": min(255, self.hr_max),
            "hr_valid_s": _u16(self.hr_n),
            "worn_s": _u16(self.worn_s),
            "rest_s": _u16(self.rest_s),
            "walk_s": _u16(self.walk_s),
            "labour_s": _u16(self.labour_s),
            "session_id": session_id,
        }


class Session:
    """A community-service session from its start: the fields of `session` frames."""

    def __init__(self, session_id, started_s, max_s):
        self.session_id = session_id
        self.started_s = started_s
        self.max_s = max_s
        self.steps = 0
        self.kcal = 0.0
        self.hr_sum = 0
        self.hr_n = 0
        self.hr_max = 0
        self.labour_s = 0
        self.worn_s = 0

    def add(self, seconds, steps, bpm, activity, kcal, worn):
        """Account `seconds` of data while the session runs."""
        if not worn:
            return
        self.worn_s += seconds
        self.steps += steps
        self.kcal += kcal
        if activity == LABOUR:
            self.labour_s += seconds
        if bpm is not None:
            self.hr_sum += bpm * seconds
            self.hr_n += seconds
            self.hr_max = max(self.hr_max, bpm)

    def due(self, now_s):
        """True when max_s has passed (0: no limit)."""
        return self.max_s > 0 and now_s - self.started_s >= self.max_s

    def fields(self, event, now_s):
        """Payload of a session frame."""
        return {
            "session_id": self.session_id,
            "event": event,
            "elapsed_s": _u32(now_s - self.started_s),
            "steps": _u32(self.steps),
            "kcal_x10": _u32(self.kcal * 10 + 0.5),
            "hr_mean": min(255, self.hr_sum // self.hr_n) if self.hr_n else 0,
            "hr_max": min(255, self.hr_max),
            "labour_s": _u32(self.labour_s),
            "worn_s": _u32(self.worn_s),
        }

    def to_json(self, now_s):
        """Plain values for the state file (elapsed time, as uptime restarts after a reset)."""
        return [
            self.session_id,
            now_s - self.started_s,
            self.max_s,
            self.steps,
            self.kcal,
            self.hr_sum,
            self.hr_n,
            self.hr_max,
            self.labour_s,
            self.worn_s,
        ]

    @staticmethod
    def from_json(v, now_s):
        """Rebuild from to_json() at uptime now_s."""
        s = Session(v[0], now_s - v[1], v[2])
        s.steps, s.kcal, s.hr_sum, s.hr_n, s.hr_max, s.labour_s, s.worn_s = v[3:10]
        return s
