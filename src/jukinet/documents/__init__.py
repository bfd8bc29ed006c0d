"""Copies of the resident record as documents: signing, the token, verification."""
