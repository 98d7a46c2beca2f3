"""The CRI RuntimeService, one module per call group, over the sandbox and container managers."""
