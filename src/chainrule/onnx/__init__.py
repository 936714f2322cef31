"""Export a `Sequential` model to ONNX, to run it with onnxruntime (or any ONNX runtime).

::

    import chainrule.onnx
    chainrule.onnx.export(model, example_input, "model.onnx")     # example: a batch of inputs

    import onnxruntime as ort
    session = ort.InferenceSession("model.onnx")
    session.run(None, {"input": X.astype(np.float32)})[0]            # = model.eval()(X)

The exported graph computes what ``model.eval()`` computes (Dropout does nothing, BatchNorm1d
uses its running statistics), with the first dimension of the input and output left free
(``dynamic_batch=True``), so any batch size works. `example_input` fixes the other
dimensions and the input's dtype (float32, float64, or integers for an Embedding first).

Supported: `Sequential` (nested too) of the built-in layers, each becoming these ONNX ops:

=============== ==========================================================================
Linear          Gemm (transB=1) for 2-D input; MatMul (+ Add) for other ranks
ReLU, Sigmoid,  Relu, Sigmoid, Tanh
Tanh
LeakyReLU       LeakyRelu (alpha = negative_slope)
ELU             Elu (alpha)
Hardtanh        Clip (min_val, max_val)
GELU            Gelu at opset >= 20; else x·0.5·(1 + Erf(x/√2)) ('none') or
                0.5·x·(1 + Tanh(√(2/π)·(x + 0.044715·x³))) ('tanh')
SiLU            Mul(x, Sigmoid(x))
Softplus        Where(βx > threshold, x, (Relu(βx) + Log(1 + Exp(-|βx|)))/β)
Softmax,        Softmax / LogSoftmax (axis = dim; dim=None resolved as PyTorch does)
LogSoftmax
Dropout,        Identity
Identity
BatchNorm1d     BatchNormalization with the running statistics (eval mode); without
                running statistics (track_running_stats=False) the batch's own statistics,
                from ReduceMean, as chainrule computes them in eval mode
Flatten         Flatten (start_dim=1, end_dim=-1) or Reshape
Unflatten       Reshape
Embedding       Gather (the input is the integer index tensor)
=============== ==========================================================================

Anything else (a custom Module, a subclass of a built-in layer, ModuleList, a loss) raises
ValueError naming the layer. A `chainrule train` run folder is exported by ``chainrule
export RUN model.onnx`` (or `chainrule.cli.export_run`), with the run's standardisation
built in through `standardize`.

Needs the ``onnx`` package (``pip install "chainrule[onnx]"``, which also installs
onnxruntime to run the exported file); chainrule imports it only when exporting.
"""

from chainrule.onnx.layers import EXPORTERS, SUPPORTED_LAYERS
from chainrule.onnx.writer import DEFAULT_OPSET, MIN_OPSET, export

__all__ = ["DEFAULT_OPSET", "EXPORTERS", "MIN_OPSET", "SUPPORTED_LAYERS", "export"]


def __getattr__(name: str) -> object:
    """`export_run` moved to the command line's package (it reads run folders)."""
    if name == "export_run":
        raise AttributeError(
            "chainrule.onnx.export_run is now chainrule.cli.export_run (a run folder is the "
            "command line's business; chainrule.onnx.export takes a model)"
        )
    raise AttributeError(f"module 'chainrule.onnx' has no attribute {name!r}")
