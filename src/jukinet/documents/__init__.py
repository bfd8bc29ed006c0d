"""Documents jukinet prints: copies of the resident record as PDF (docs/copies.md)."""
