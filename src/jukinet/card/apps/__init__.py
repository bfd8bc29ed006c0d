"""The card's applications: their AIDs, files, PINs and keys, one module each."""
