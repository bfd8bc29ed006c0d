"""The window app of a municipality node (docs/ui.md, "The window app")."""
