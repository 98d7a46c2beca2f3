"""What runs outside the daemon: sandbox holders, per-container shims, exec helpers.

Everything here is forked from the single-threaded fork server (``runtime.forkserver``), never
from the multi-threaded gRPC daemon, and imports only the standard library and ``runtime.linux``
so the forked processes stay small.
"""
