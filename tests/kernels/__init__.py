"""chainrule.kernels: the optional compiled kernels and their NumPy twins."""
