"""The closed set of codes a frame can be refused with (see protocol/README.md)."""

TRUNCATED = "truncated"  # fewer bytes than the header or the declared frame
BAD_LENGTH = "bad_length"  # payload length wrong for the type, or trailing bytes
BAD_VERSION = "bad_version"  # version nibble is not 1
BAD_ALG = "bad_alg"  # algorithm nibble unknown or not accepted here
UNKNOWN_TYPE = "unknown_type"  # type byte not defined for this direction
BAD_FLAGS = "bad_flags"  # a reserved flag bit is set
BAD_FIELD = "bad_field"  # an enumerated payload field holds an undefined value
UNKNOWN_BAND = "unknown_band"  # no key is enrolled for this band_id
BAD_SIGNATURE = "bad_signature"  # signature (uplink) or tag (downlink) does not verify
REPLAY = "replay"  # counter refused: below the window and not provably new, or reused

CODES = (
    TRUNCATED,
    BAD_LENGTH,
    BAD_VERSION,
    BAD_ALG,
    UNKNOWN_TYPE,
    BAD_FLAGS,
    BAD_FIELD,
    UNKNOWN_BAND,
    BAD_SIGNATURE,
    REPLAY,
)


class FrameError(Exception):
    """A frame was refused; `code` is one of CODES, `detail` says why in words."""

    def __init__(self, code, detail=""):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail

    def __str__(self):
        return "%s: %s" % (self.code, self.detail) if self.detail else self.code
