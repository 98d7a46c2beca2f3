"""HTTP handlers of the resource verbs, one module per verb group."""
