"""The network console of the national node (docs/ui.md, "The network console")."""
