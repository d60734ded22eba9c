"""The band's sensing algorithms: pure integer/float code, no hardware; the replay runs them."""
