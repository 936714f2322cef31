"""The bridges: scikit-learn, ONNX, the text models and the classic models."""
