"""chainrule.optim: optimizers and learning-rate schedulers."""
