"""Small helpers shared across the package (I/O, seeding, devices)."""
