"""On-disk state: one directory per sandbox and container, the daemon's only source of truth."""
