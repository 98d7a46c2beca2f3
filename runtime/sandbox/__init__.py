"""Pod sandboxes: the holder process, the pod's namespaces, files and cgroup."""
