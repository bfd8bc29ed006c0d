"""Documents jukinet prints: copies of the resident record as PDF (docs/copies.md),
rendered (``render``), signed (``signing``, ``token``, ``certs``) and verified (``verify``)."""
