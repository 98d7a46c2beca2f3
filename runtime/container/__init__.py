"""Containers: turning a CRI ContainerConfig into a spec, and driving its lifecycle."""
