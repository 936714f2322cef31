"""`pad`, as torch.nn.functional.pad: widen (or, with negative sizes, crop) the last
dimensions of a tensor.

``pad`` lists sizes from the last dimension backwards, two a dimension: ``(left, right)``
pads the last one, ``(left, right, top, bottom)`` the last two, and so on. The new
elements are, by ``mode``:

=============  ==================================================================
"constant"     ``value`` (0 by default)                 [1 2 3] (2, 1) -> [0 0 1 2 3 0]
"reflect"      the mirror image, without the edge       [1 2 3] (2, 1) -> [3 2 1 2 3 2]
"replicate"    the edge element repeated                [1 2 3] (2, 1) -> [1 1 1 2 3 3]
"circular"     the other end, as if the axis wrapped    [1 2 3] (2, 1) -> [2 3 1 2 3 1]
=============  ==================================================================

The modes other than "constant" pad the last 1, 2 or 3 dimensions of an input with one or
two dimensions more (a batch, a channel), torch's rule. Built from tensor ops (slicing,
concatenation, index_select), so autograd derives the gradient: a padded element's
gradient goes back to the element it copies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chainrule.creation import full
from chainrule.joining import cat
from chainrule.tensor import Tensor

MODES = ("constant", "reflect", "replicate", "circular")
_AXIS_NAMES = ("W", "H", "D")  # torch's names for the last, second and third last dims


def pad(
    input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> Tensor:
    """``input`` padded by ``pad`` = (left of the last dim, its right, left of the one
    before, ...) in ``mode`` (see the module docstring); ``value`` for "constant"."""
    sizes = _check_sizes(input, pad)
    if mode not in MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode == "constant":
        return _constant(input, sizes, 0.0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_non_constant(input, len(pad))
    for back, (left, right) in enumerate(sizes):
        dim = input.ndim - 1 - back
        input = _index_pad(input, dim, left, right, mode, _AXIS_NAMES[back])
    return input


def _check_sizes(input: Tensor, pad: Sequence[int]) -> list[tuple[int, int]]:
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad(): argument 'pad' must be tuple of ints, not {type(pad).__name__}")
    for position, size in enumerate(pad):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise TypeError(
                "pad(): argument 'pad' (position 2) must be tuple of ints, but found element "
                f"of type {type(size).__name__} at pos {position}"
            )
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * input.ndim:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension "
            f"but got padding length {len(pad)} and input of dimension {input.ndim}"
        )
    return [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]


def _check_non_constant(input: Tensor, length: int) -> None:
    """torch's rule: 2 sizes for a 2-D/3-D input, 4 for 3-D/4-D, 6 for 4-D/5-D."""
    padded = length // 2
    if padded not in (1, 2, 3) or input.ndim not in (padded + 1, padded + 2):
        raise NotImplementedError(
            f"Padding size {length} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )


def _constant(input: Tensor, sizes: list[tuple[int, int]], value: float) -> Tensor:
    """Crop the negative sizes, then concatenate blocks of ``value`` (in input's dtype)."""
    crop = [slice(None)] * input.ndim
    for back, (left, right) in enumerate(sizes):
        n = input.shape[input.ndim - 1 - back]
        crop[input.ndim - 1 - back] = slice(max(-left, 0), n - max(-right, 0))
    if any(s != slice(None) for s in crop):
        input = input[tuple(crop)]
    for back, (left, right) in enumerate(sizes):
        dim = input.ndim - 1 - back
        blocks = [input]
        for size, at in ((left, 0), (right, len(blocks) + 1)):
            if size > 0:
                shape = list(input.shape)
                shape[dim] = size
                blocks.insert(at, full(shape, value, dtype=input.dtype))
        if len(blocks) > 1:
            input = cat(blocks, dim)
    return input


def _index_pad(input: Tensor, dim: int, left: int, right: int, mode: str, axis: str) -> Tensor:
    """One dimension padded by picking, for each output position, the input element it
    copies (reflect and replicate index the input as it is, negative sizes included, as
    torch; circular crops the negative sizes first and wraps on what is left)."""
    if left == 0 and right == 0:
        return input
    n = input.shape[dim]
    if mode == "circular":
        start, stop = max(-left, 0), n - max(-right, 0)
        if start or stop != n:
            crop = [slice(None)] * input.ndim
            crop[dim] = slice(start, max(stop, start))
            input = input[tuple(crop)]
        n = input.shape[dim]
        left, right = max(left, 0), max(right, 0)
        if left > n or right > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        positions = np.arange(-left, n + right) % max(n, 1)
    else:
        if n + left + right < 1:
            raise RuntimeError(
                f"input ({axis}: {n}) is too small. Calculated output {axis}: {n + left + right}"
            )
        if mode == "reflect" and (left >= n or right >= n):
            raise RuntimeError(
                "Argument #4: Padding size should be less than the corresponding input "
                f"dimension, but got: padding ({left}, {right}) at dimension {dim} of input "
                f"{list(input.shape)}"
            )
        positions = np.arange(-left, n + right)
        if mode == "reflect":  # -1 -> 1, n -> n - 2: the mirror without the edge
            positions = np.abs(positions)
            positions = np.where(positions > n - 1, 2 * (n - 1) - positions, positions)
        else:
            positions = np.clip(positions, 0, n - 1)
    return input.index_select(dim, Tensor._make(positions.astype(np.int64), False))
