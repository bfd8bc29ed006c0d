"""The resident portal of a municipality node (docs/ui.md, "The resident portal")."""
