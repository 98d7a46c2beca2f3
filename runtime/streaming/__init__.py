"""The streaming server behind the CRI Exec (and friends): URLs with one-time tokens."""
