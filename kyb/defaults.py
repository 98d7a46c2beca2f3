"""Default locations shared by the daemons and the tools that talk to them."""

DEFAULT_RUNTIME_SOCKET = "/run/kybernetes/runtime.sock"
DEFAULT_RUNTIME_ENDPOINT = f"unix://{DEFAULT_RUNTIME_SOCKET}"
DEFAULT_RUNTIME_ROOT = "/var/lib/kybernetes/runtime"
