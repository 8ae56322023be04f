"""The notice document layer: rendering, signing, verification."""
