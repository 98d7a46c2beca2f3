"""On-disk state: one directory per sandbox and container, the daemon's only source of truth."""

# The file in each object's directory that holds its record. Here rather than in ``store`` so
# that shims can find it without loading the store (the fork server keeps its imports small).
RECORD = "record.json"
