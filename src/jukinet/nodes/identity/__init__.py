"""What the prefecture and national nodes share: identity information only (R1)."""
