"""The engine: Tensor, autograd, ops, torch-style functions, gradcheck, viz; parity with torch."""
