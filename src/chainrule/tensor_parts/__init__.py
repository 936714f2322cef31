"""The pieces `chainrule.tensor.Tensor` is made of, one idea a module.

`Tensor` (in chainrule.tensor) is `Conversion + Operators + InPlace + Math + Shape` over
`TensorBase`, which holds the slots every tensor has. Each mixin sits below tensor.py
(docs/architecture.md): it recognises tensors as `TensorBase` and builds them with
`self._make`, so it never imports chainrule.tensor at run time.

- base: the slots and the missing-name error;
- conversion: numpy/item/float, detach/clone, requires_grad_, to and the dtype casts;
- operators: the arithmetic and comparison operators;
- inplace: in-place ops, outside the graph and recorded in it (version counters, views);
- math: elementwise functions and reductions;
- shape: reshape/permute/squeeze/expand and indexing (getitem, setitem).
"""
