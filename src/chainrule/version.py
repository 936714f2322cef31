"""chainrule's version, in one place: the package, checkpoints, ONNX files and the wheel's
metadata (pyproject reads it) all take it from here. A leaf module: it imports nothing."""

__version__ = "0.1.0"
