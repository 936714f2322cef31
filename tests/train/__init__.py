"""chainrule.train and capture: fit, callbacks, metrics, compiled steps, whole runs."""
