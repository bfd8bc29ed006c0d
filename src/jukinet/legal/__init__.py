"""Package data: the legal table (別表) shipped with jukinet (R2)."""
