"""Float32 subnormals without the floating-point unit's slow path: the helpers a compiled
loop uses to handle them with integer operations, and the proofs of why it stays exact.

Why: a multiplication, division, square root or float32→float64 conversion that reads or
makes a subnormal float32 (|x| < 2^-126, exponent bits 0) takes a microcode assist on
this machine's processor, about 30x the time of the same operation on normal numbers
(262,144 values, numba: a multiply 56 µs with normal inputs, 1,822 with subnormal ones; a
division 68 against 1,906, a square root 83 against 2,159, a conversion 54 against
1,754, a product that underflows 1,734; an addition 73 against 143, a comparison 55
against 129: no assist). Adam's first moment m of a weight whose gradient is exactly 0
(behind a dead ReLU unit) is multiplied by β1 every step, becomes subnormal after about
900 steps and stays so (k·2^-149 with k ≤ 4 rounds back to itself: round(k·0.9) = k):
docs/speed.md, "Subnormal moments". Flushing subnormals to zero (what JAX's jit does)
would change the numbers; these helpers keep them.

What a compiled loop does with them (kernels/adam32.py's float32 Adam loop); each helper
reads a float32's IEEE bits (an LLVM bitcast: a register move, no arithmetic, no assist):

- **Tests.** `low` (exponent bits 0), `tiny` (subnormal, not ±0), `below`/`at_least`
  (|x|'s bits against a floor), `rank` (|x|'s bits - 1, for a block's minimum). A
  subnormal float32 with bits ``s | k`` (sign s, 0 < k < 2^23) is the value ±k·2^-149.
- **A product by a scalar |c| < 1** (`grid_product`): (±k·2^-149)·c is ±(k·c)·2^-149,
  and the float32 product rounds it to the nearest multiple of 2^-149 (ties to even: the
  subnormal grid). So its bits are ``(s ^ sign(c)) | rint(k·|c|)``: k converts to
  float64 exactly (an integer), k·|c| is exact in float64 (24 + 24 bits < 53), `rint`
  rounds half to even, and the result is at most k, still subnormal (or zero, with the
  product's sign). The floating-point unit only sees an integer and normal float64s.
- **A sum with ±0** (in `grid_product`): z + (±0) is z when z ≠ 0; two zeros give -0 only
  when both are -0 (IEEE, rounding to nearest): bits ``z if z & 0x7fffffff else z & zero``.
- **A square root** of v = ±k·2^-149 (`doubled` gives ±2k): v = ±(2k)·2^-150, so
  √v = √(±2k)·2^-75; 2k < 2^24 is an exact normal float32 (an integer conversion), its
  square root is correctly rounded, and scaling a normal result by a power of two is
  exact: √v is float32(√(2k))·2^-75, bit for bit (the square root of a negative
  subnormal gives the default NaN either way; of ±0, ±0).
- **A sign** (`sign_of`): ±0 with x's sign, the numerator that leaves θ as it is.

These are built when a loop that needs them is compiled (`prepare`), so that importing
chainrule never imports numba.
"""

from __future__ import annotations

from typing import Any

__all__ = ["prepare"]

low: Any = None
"""``low(x)``: x (float32) has exponent bits 0: subnormal or ±0."""

tiny: Any = None
"""``tiny(x)``: x (float32) is subnormal, not ±0 (0 < |x| < 2^-126)."""

rank: Any = None
"""``rank(x)``: |x|'s bits minus 1 as a uint32 (±0 wraps to 2^32 - 1): x is subnormal
when it is below 0x007FFFFF, and a block's minimum says so for the block (a cheap
vectorised reduction)."""

grid_product: Any = None
"""``grid_product(x, c, signs, addend)``: the float32 ``x·c + addend`` of a subnormal or
zero x, a float32 scalar c with |c| < 1 given as ``float(|c|)`` and its sign bit in
``signs`` (bit 31), and addend ±0: ``(sign | rint(k·|c|)) + addend`` in integers."""

sign_of: Any = None
"""``sign_of(x)``: ±0 with the sign of x (float32)."""

at_least: Any = None
"""``at_least(x, floor)``: |x|'s bits (float32) are at least ``floor``, unsigned: true for
|x| ≥ the float32 whose bits are ``floor``, and for NaN."""

below: Any = None
"""``below(x, floor)``: |x|'s bits (float32) are below ``floor``, unsigned (`at_least`'s
negation)."""

doubled: Any = None
"""``doubled(x)``: ±2k as a float32, for a subnormal or zero x = ±k·2^-149."""


def prepare() -> None:
    """Make the helpers (numba intrinsics written in LLVM IR with 32-bit integers, so that
    a loop calling them vectorises over 8 float32 lanes) and put them in this module's
    globals, where a loop compiled afterwards finds them. Call it only when
    `chainrule.kernels.numba_enabled()`; a second call does nothing."""
    global low, tiny, rank, grid_product, sign_of, at_least, below, doubled
    if low is not None:
        return
    from llvmlite import ir  # numba's own dependency: only with the `fast` extra
    from numba import types
    from numba.extending import intrinsic

    word, single, double = ir.IntType(32), ir.FloatType(), ir.DoubleType()

    def constant(value: int) -> Any:
        return ir.Constant(word, value)

    def to_bits(builder: Any, value: Any) -> Any:
        return builder.bitcast(value, word)

    def to_word(builder: Any, value: Any, kind: Any) -> Any:
        """An integer argument as i32 (its low 32 bits)."""
        if kind.bitwidth > 32:
            return builder.trunc(value, word)
        return builder.zext(value, word) if kind.bitwidth < 32 else value

    @intrinsic
    def _low(typingctx: Any, x: Any) -> Any:
        if x != types.float32:
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            exponent = builder.and_(to_bits(builder, args[0]), constant(0x7F800000))
            return builder.icmp_unsigned("==", exponent, constant(0))

        return types.boolean(types.float32), codegen

    @intrinsic
    def _tiny(typingctx: Any, x: Any) -> Any:
        if x != types.float32:
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            magnitude = builder.and_(to_bits(builder, args[0]), constant(0x7FFFFFFF))
            less = builder.sub(magnitude, constant(1))  # 0 wraps to 2^32 - 1
            return builder.icmp_unsigned("<", less, constant(0x7FFFFF))

        return types.boolean(types.float32), codegen

    @intrinsic
    def _rank(typingctx: Any, x: Any) -> Any:
        if x != types.float32:
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            magnitude = builder.and_(to_bits(builder, args[0]), constant(0x7FFFFFFF))
            return builder.sub(magnitude, constant(1))

        return types.uint32(types.float32), codegen

    @intrinsic
    def _grid_product(typingctx: Any, x: Any, c: Any, signs: Any, addend: Any) -> Any:
        if (x, c, addend) != (types.float32, types.float64, types.float32):
            return None
        if not isinstance(signs, types.Integer):
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            value, scale, sign_word, zero = args
            b = to_bits(builder, value)
            k = builder.sitofp(builder.and_(b, constant(0x7FFFFF)), double)  # exact
            rint = builder.module.declare_intrinsic("llvm.rint", [double])
            q = builder.fptosi(builder.call(rint, [builder.fmul(k, scale)]), word)  # ≤ k
            flip = to_word(builder, sign_word, signs)
            sign = builder.and_(builder.xor(b, flip), constant(-0x80000000))
            z = builder.or_(sign, q)
            both = builder.and_(z, to_bits(builder, zero))  # ±0 + ±0: -0 only if both
            is_zero = builder.icmp_unsigned("==", q, constant(0))
            return builder.bitcast(builder.select(is_zero, both, z), single)

        return types.float32(types.float32, types.float64, signs, types.float32), codegen

    @intrinsic
    def _sign_of(typingctx: Any, x: Any) -> Any:
        if x != types.float32:
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            sign = builder.and_(to_bits(builder, args[0]), constant(-0x80000000))
            return builder.bitcast(sign, single)

        return types.float32(types.float32), codegen

    @intrinsic
    def _at_least(typingctx: Any, x: Any, floor: Any) -> Any:
        if x != types.float32 or not isinstance(floor, types.Integer):
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            magnitude = builder.and_(to_bits(builder, args[0]), constant(0x7FFFFFFF))
            return builder.icmp_unsigned(">=", magnitude, to_word(builder, args[1], floor))

        return types.boolean(types.float32, floor), codegen

    @intrinsic
    def _below(typingctx: Any, x: Any, floor: Any) -> Any:
        if x != types.float32 or not isinstance(floor, types.Integer):
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            magnitude = builder.and_(to_bits(builder, args[0]), constant(0x7FFFFFFF))
            return builder.icmp_unsigned("<", magnitude, to_word(builder, args[1], floor))

        return types.boolean(types.float32, floor), codegen

    @intrinsic
    def _doubled(typingctx: Any, x: Any) -> Any:
        if x != types.float32:
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            b = to_bits(builder, args[0])
            twice = builder.shl(builder.and_(b, constant(0x7FFFFF)), constant(1))
            magnitude = to_bits(builder, builder.sitofp(twice, single))  # exact: < 2^24
            sign = builder.and_(b, constant(-0x80000000))
            return builder.bitcast(builder.or_(magnitude, sign), single)

        return types.float32(types.float32), codegen

    low, tiny, rank, grid_product, sign_of, at_least, below, doubled = (
        _low,
        _tiny,
        _rank,
        _grid_product,
        _sign_of,
        _at_least,
        _below,
        _doubled,
    )
