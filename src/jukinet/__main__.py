"""``python -m jukinet`` is the ``jukinet`` command (the supervisor starts nodes this way)."""

from jukinet.cli import main

main()
