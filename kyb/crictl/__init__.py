"""`kyb cri`: crictl's verbs for people who have no crictl, against any CRI v1 runtime.

The command line mirrors crictl (same verbs, flags, config files, environment variables and
output shapes; see `cli`) so instructions written for crictl work with `kyb cri` in front.

One module per group of verbs over a shared `Session` (connections, printing, one-line errors):
`runtime_info` (version, info, runtime-config), `pods` (runp, pods, inspectp, stopp, rmp),
`containers` (create, run, start, ps, inspect, update, stop, rm), `stats` (stats, statsp),
`container_logs` (logs), `remote_exec` (exec, attach: ExecSync or the streaming URL over
WebSocket), `port_forward` (port-forward), `images` (images, pull, inspecti, rmi, imagefsinfo). Beneath them: `config` reads
crictl's pod and container files, `logs` reads the CRI log format, `listing` holds the shared
list filters and `output` renders tables and JSON/YAML.
"""
