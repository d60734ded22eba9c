"""Use cases: domain rules applied to the store, one transaction and one audit entry per act."""
