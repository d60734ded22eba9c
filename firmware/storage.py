"""Band flash: atomic small files (key, counter ceiling, state) in the data directory."""

import json
import os


def exists(path):
    """True if path names a file or directory."""
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def makedirs(path):
    """Create path and its parents if missing."""
    cur = ""
    for part in path.strip("/").split("/"):
        cur += "/" + part
        if not exists(cur):
            os.mkdir(cur)


class Store:
    """Named values under one directory; every write is write-temporary-then-rename."""

    def __init__(self, root):
        self.root = root
        makedirs(root)
        self.writes = 0  # flash writes since boot (wear accounting)

    def path(self, name):
        """Full path of a named file."""
        return self.root + "/" + name

    def read(self, name):
        """The bytes of a file, or None if it does not exist."""
        try:
            with open(self.path(name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def write(self, name, data):
        """Replace a file durably: a reset leaves either the old or the new content."""
        tmp = self.path(name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        # littlefs renames atomically; the old file stays valid until the rename commits.
        os.rename(tmp, self.path(name))
        self.writes += 1

    def remove(self, name):
        """Delete a file if it exists."""
        if exists(self.path(name)):
            os.remove(self.path(name))

    def read_json(self, name, default):
        """A JSON value, or default when missing or unreadable."""
        raw = self.read(name)
        if raw is None:
            return default
        try:
            return json.loads(raw)
        except ValueError:
            return default

    def write_json(self, name, value):
        """Store a JSON value atomically."""
        self.write(name, json.dumps(value).encode())

    def read_u32(self, name):
        """A big-endian u32, 0 when missing."""
        raw = self.read(name)
        if raw is None or len(raw) != 4:
            return 0
        return int.from_bytes(raw, "big")

    def write_u32(self, name, value):
        """Store a u32 atomically."""
        self.write(name, value.to_bytes(4, "big"))
