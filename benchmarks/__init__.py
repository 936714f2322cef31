"""The speed suite: chainrule against PyTorch, scikit-learn, hand-written NumPy and BLAS."""
