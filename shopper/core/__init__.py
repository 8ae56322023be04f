"""The pure domain core: no Flask, no database. Plain data in, plain data out."""
