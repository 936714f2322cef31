"""chainrule.nn: modules, layers, losses, init and the layer registry."""
