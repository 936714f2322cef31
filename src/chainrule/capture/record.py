"""What `compile_step` records of one eager step: the ops, in order, through the engine's
public seam `chainrule.autograd.recording`, with where each input came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import autograd
from chainrule.autograd import Function
from chainrule.nn.modules.module import Module
from chainrule.tensor import Tensor

INPUT = -1  # source of the model's input


class InputOption:
    """An op's option that is the model's input array itself (Embedding's indices): the
    program passes the step's input there."""

    def __repr__(self) -> str:
        return "<the input>"


THE_INPUT = InputOption()


@dataclass
class Entry:
    """One recorded op: its class, where its inputs come from, its options and the array
    it produced while recording (whose shape, dtype and memory layout its buffers copy)."""

    op: type[Function]
    sources: tuple[Any, ...]  # per input: INPUT, an earlier entry's index, or a Tensor
    options: dict[str, Any]
    needs_input_grad: tuple[bool, ...]
    example: np.ndarray


def record(model: Module, x: Tensor) -> tuple[list[Entry], Tensor]:
    """Run the model eagerly once and list the ops it ran."""
    with autograd.recording() as recorded:
        output = model(x)
    produced = {id(result): index for index, (_, _, _, result) in enumerate(recorded)}
    entries: list[Entry] = []
    for op, inputs, options, result in recorded:
        sources: list[Any] = []
        for tensor in inputs:
            if tensor is x:
                sources.append(INPUT)
            elif id(tensor) in produced:
                sources.append(produced[id(tensor)])
            else:  # a parameter, or a constant the layer made (read afresh at every step)
                sources.append(tensor)
        options = dict(options)
        for key, value in options.items():
            if value is x._data:  # the input itself, e.g. Embedding's indices
                options[key] = THE_INPUT
            elif isinstance(value, np.ndarray) and np.shares_memory(value, x._data):
                raise ValueError(
                    f"compile_step: op {type(op).__name__} keeps an array taken from the "
                    "input, which a replay could not update; train this model eagerly"
                )
        needs = tuple(t.requires_grad for t in inputs)
        entries.append(Entry(type(op), tuple(sources), dict(options), needs, result._data))
    if not entries or produced.get(id(output)) != len(entries) - 1:
        raise ValueError("compile_step: the model's output must come from its last op")
    return entries, output
