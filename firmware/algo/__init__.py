"""The band's sensing algorithms: pure integer/float code, no hardware, shared with the replay tool."""
