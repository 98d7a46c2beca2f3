"""The `kyb` command line: one thin entry per daemon or tool over the library packages.

The packages never import `kyb`; `kyb` imports them.
"""
