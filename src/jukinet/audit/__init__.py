"""The tamper-evident audit log (R12, R25)."""
