"""The agency console (docs/ui.md, "The agency console"): served on the agency's own
machine, over its certificate, for its staff."""
