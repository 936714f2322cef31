"""A captured training step: record the graph of one step once, then run it as one
straight-line NumPy function.

An eager step builds a Tensor and a graph node for every op, walks the graph in backward
and goes through each layer's Python call chain. For a small network (2-16-16-2 on
batches of 32) that bookkeeping costs more than the arithmetic. `compile_step` runs the
first step eagerly while recording which ops ran, on which arrays, with which options, and
writes the step out as Python source: the forward ops in order, the loss, then each op's
backward, last first, into buffers kept from one step to the next. Later steps with the
same input shape run that function: the same NumPy calls as the eager step, in the same
order, so the same numbers, without the bookkeeping.

    step = chainrule.compile_step(model, nn.CrossEntropyLoss(), optimizer)
    for xb, yb in loader:
        loss = step(xb, yb)   # = zero_grad(); loss_fn(model(xb), yb).backward(); step()
    print(step.code)          # the NumPy program one training step became

Supported models: `Sequential` (nested too) of the layers declared ``capture=True`` in
`chainrule.nn.registry`: Linear, Identity, Flatten, Unflatten and the activation layers. For
Linear (on a batch of rows), ReLU, Tanh and Sigmoid the program calls the ops' own kernel functions
(`chainrule.ops.linalg.linear_forward`/`linear_backward`, `ops.elementwise.relu_forward`/
`relu_backward`, `tanh_*`, `sigmoid_*`: the functions the eager `Function.forward`/`backward`
call) into buffers it keeps; other layers call their op's own `forward` and `backward`.
Layers whose forward draws random numbers or updates state (Dropout, BatchNorm1d) would be
frozen by a replay, so they are refused with a clear error. The loss is computed eagerly
on the replayed output, so every loss and option behaves as usual; plain
`CrossEntropyLoss()` on class indices (through `ops.loss.cross_entropy_forward`/
`cross_entropy_backward`, the kernels of the eager op) and the mean squared error
(`MSELoss()`, `F.mse_loss`) on targets of the output's dtype and shape are written out too.

After a replayed step the parameters' ``.grad`` arrays are the program's buffers and the
next step overwrites them (as with the static outputs of a CUDA graph): copy a gradient if
you need to keep it. A program holds the parameters it recorded; after `Module.to(dtype)`
or a change of `requires_grad`, make a new `compile_step`.

The optimizer's update is written out too for SGD (with momentum, dampening, Nesterov,
weight decay, maximize) and Adam/AdamW (weight decay, AMSGrad, maximize): the same NumPy
calls as ``optimizer.step()``, in place (`chainrule.capture.update`); any other optimizer,
or one whose options change form after the recording, runs ``optimizer.step()``.

The package, by idea: `record` (the ops of one eager step, through
`chainrule.autograd.recording`), `writer` (source lines and kept buffers), `program`
(the walk: each op's kernel calls or its own forward/backward, buffer planning, gradient
accumulation), `losses`, `update` (the optimizer), `step`
(`CompiledStep`: record once per input shape, replay).
"""

from chainrule.capture.step import REPLAYABLE, CompiledStep, compile_step

__all__ = ["REPLAYABLE", "CompiledStep", "compile_step"]
