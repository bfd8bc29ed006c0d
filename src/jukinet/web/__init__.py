"""The web interfaces (docs/ui.md): server-rendered pages over the same service
functions the CLI calls. ``common`` is shared by every app; ``console`` is the
national node's network console."""
