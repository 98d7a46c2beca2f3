"""Thin, typed access to the Linux syscalls the runtime needs and Python does not wrap."""
