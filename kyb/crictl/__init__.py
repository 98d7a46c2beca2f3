"""`kyb cri`: crictl's verbs for people who have no crictl, against any CRI v1 runtime.

The command line mirrors crictl (same verbs, flags, config files and output shapes, see
`cli`) so instructions written for crictl work with `kyb cri` in front. One module per group of
verbs (`pods`, `containers`, `images`, `remote_exec`, `runtime_info`) over a shared `Session`
(connections, printing, one-line errors); `config` reads crictl's pod and container files,
`logs` reads the CRI log format, `output` renders tables and JSON/YAML.
"""
