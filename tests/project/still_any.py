"""The public functions whose signatures still write ``Any``, each group with its reason.

`tests/project/test_public_types.py` fails for a public signature that writes Any and is
not listed here, and for an entry here that no longer writes Any (typed since, or gone):
the list can only shrink. To type an entry, give the argument a real type or an alias from
`chainrule.types` (whose docstring says why a value is open), then delete the line.
"""

from __future__ import annotations

# The Tensor methods and factories take torch's overloaded argument forms: sizes as ints or
# one sequence (`zeros(2, 3)`, `zeros((2, 3))`), an index as anything `x[...]` takes, a dim
# an int or a tuple depending on the method, results that are tensors or tuples of them by
# their flags (`unique(return_counts=True)`), and torch's named result tuples
# (`x.sort().values`: `return_types` makes those classes at run time, so they need declared
# NamedTuple twins first). Each family needs its own alias (`SizeArgs`, an index type,
# overloads on the flags): the next round's work.
ENGINE = "engine backlog: torch's overloaded size/index/dim forms, flag-shaped and named results"

# The factories' **kw: torch's keyword extras (layout, pin_memory, memory_format ...),
# accepted and checked by name at run time
TORCH_KW = "torch's keyword extras (layout, pin_memory ...), checked by name at run time"

# autograd has no __all__, so the engine's seams in its namespace count as public: the
# recording and accumulation hooks capture and higher_order use, not user API
INTERNAL = "autograd's internal seams (capture, higher_order), not user API"

_ENGINE: tuple[str, ...] = (
    "chainrule.creation.arange",
    "chainrule.creation.full_like",
    "chainrule.creation.ones_like",
    "chainrule.creation.rand_like",
    "chainrule.creation.randint",
    "chainrule.creation.randint_like",
    "chainrule.creation.randn_like",
    "chainrule.creation.zeros_like",
    "chainrule.functions._joined.<locals>.join",
    "chainrule.functions.abs",
    "chainrule.functions.broadcast_shapes",
    "chainrule.functions.broadcast_tensors",
    "chainrule.functions.bucketize",
    "chainrule.functions.can_cast",
    "chainrule.functions.einsum",
    "chainrule.functions.inclusive_range",
    "chainrule.functions.meshgrid",
    "chainrule.functions.normal",
    "chainrule.functions.result_type",
    "chainrule.functions.searchsorted",
    "chainrule.functions.tensordot",
    "chainrule.functions.where",
    "chainrule.random.generator.Generator.manual_seed",
    "chainrule.tensor.Tensor.backward",
    "chainrule.tensor_methods.arrange.cross",
    "chainrule.tensor_methods.arrange.diff",
    "chainrule.tensor_methods.arrange.dsplit",
    "chainrule.tensor_methods.arrange.hsplit",
    "chainrule.tensor_methods.arrange.rot90",
    "chainrule.tensor_methods.arrange.split_with_sizes",
    "chainrule.tensor_methods.arrange.sum_to_size",
    "chainrule.tensor_methods.arrange.unique_consecutive",
    "chainrule.tensor_methods.arrange.unsafe_split",
    "chainrule.tensor_methods.arrange.vsplit",
    "chainrule.tensor_methods.arrange.where",
    "chainrule.tensor_methods.attributes.dim_order",
    "chainrule.tensor_methods.attributes.stride",
    "chainrule.tensor_methods.attributes.to_dense",
    "chainrule.tensor_methods.inplace._inplace_twin.<locals>.apply",
    "chainrule.tensor_methods.integer.frexp",
    "chainrule.tensor_methods.integer.heaviside",
    "chainrule.tensor_methods.linalg.qr",
    "chainrule.tensor_methods.linalg.slogdet",
    "chainrule.tensor_methods.linalg.svd",
    "chainrule.tensor_methods.linalg.triangular_solve",
    "chainrule.tensor_methods.math.float_power",
    "chainrule.tensor_methods.math.lerp",
    "chainrule.tensor_methods.properties._install_new.<locals>.new_full",
    "chainrule.tensor_methods.properties._new.<locals>.make",
    "chainrule.tensor_methods.properties.apply_",
    "chainrule.tensor_methods.properties.map2_",
    "chainrule.tensor_methods.properties.map_",
    "chainrule.tensor_methods.properties.new",
    "chainrule.tensor_methods.properties.new_empty_strided",
    "chainrule.tensor_methods.properties.type",
    "chainrule.tensor_methods.reductions.amax",
    "chainrule.tensor_methods.reductions.aminmax",
    "chainrule.tensor_methods.reductions.logsumexp",
    "chainrule.tensor_methods.reductions.max",
    "chainrule.tensor_methods.reductions.norm",
    "chainrule.tensor_methods.sampling.bernoulli",
    "chainrule.tensor_methods.sampling.bernoulli_",
    "chainrule.tensor_methods.sampling.random_",
    "chainrule.tensor_methods.scatter.fill_diagonal_",
    "chainrule.tensor_methods.scatter.index_put",
    "chainrule.tensor_methods.scatter.index_reduce",
    "chainrule.tensor_methods.scatter.masked_scatter",
    "chainrule.tensor_methods.scatter.put",
    "chainrule.tensor_methods.scatter.scatter_reduce",
    "chainrule.tensor_methods.scatter.slice_scatter",
    "chainrule.tensor_methods.selection.bincount",
    "chainrule.tensor_methods.selection.histogram",
    "chainrule.tensor_methods.selection.kthvalue",
    "chainrule.tensor_methods.selection.median",
    "chainrule.tensor_methods.selection.mode",
    "chainrule.tensor_methods.selection.sort",
    "chainrule.tensor_methods.selection.topk",
    "chainrule.tensor_methods.selection.unique",
    "chainrule.tensor_methods.shape.flip",
    "chainrule.tensor_methods.shape.index_add",
    "chainrule.tensor_methods.shape.index_copy",
    "chainrule.tensor_methods.shape.index_fill",
    "chainrule.tensor_methods.shape.index_select",
    "chainrule.tensor_methods.shape.masked_fill",
    "chainrule.tensor_methods.shape.masked_select",
    "chainrule.tensor_methods.shape.movedim",
    "chainrule.tensor_methods.shape.nonzero",
    "chainrule.tensor_methods.shape.repeat",
    "chainrule.tensor_methods.shape.repeat_interleave",
    "chainrule.tensor_methods.shape.roll",
    "chainrule.tensor_methods.shape.scatter",
    "chainrule.tensor_methods.shape.scatter_add",
    "chainrule.tensor_methods.shape.split",
    "chainrule.tensor_methods.shape.take",
    "chainrule.tensor_methods.shape.take_along_dim",
    "chainrule.tensor_methods.shape.tensor_split",
    "chainrule.tensor_methods.shape.tile",
    "chainrule.tensor_methods.statistics.cov",
    "chainrule.tensor_methods.statistics.cummax",
    "chainrule.tensor_methods.statistics.cummin",
    "chainrule.tensor_methods.statistics.nanmedian",
    "chainrule.tensor_methods.statistics.nanquantile",
    "chainrule.tensor_methods.statistics.quantile",
    "chainrule.tensor_parts.conversion.Conversion.to",
    "chainrule.tensor_parts.conversion.Conversion.tolist",
    "chainrule.tensor_parts.inplace.InPlace.add_",
    "chainrule.tensor_parts.inplace.InPlace.copy_",
    "chainrule.tensor_parts.inplace.InPlace.div_",
    "chainrule.tensor_parts.inplace.InPlace.fill_",
    "chainrule.tensor_parts.inplace.InPlace.mul_",
    "chainrule.tensor_parts.inplace.InPlace.sub_",
    "chainrule.tensor_parts.math.Math.pow",
)
_TORCH_KW: tuple[str, ...] = (
    "chainrule.creation.empty",
    "chainrule.creation.eye",
    "chainrule.creation.full",
    "chainrule.creation.linspace",
    "chainrule.creation.logspace",
    "chainrule.creation.ones",
    "chainrule.creation.rand",
    "chainrule.creation.randn",
    "chainrule.creation.randperm",
    "chainrule.creation.zeros",
)
_INTERNAL: tuple[str, ...] = (
    "chainrule.autograd.accumulate",
    "chainrule.autograd_api.implementation",
    "chainrule.autograd.recording",
    "chainrule.autograd_api.register_implementation",
    "chainrule.autograd.run_backward_many",
)


STILL_ANY: dict[str, str] = (
    dict.fromkeys(_ENGINE, ENGINE)
    | dict.fromkeys(_TORCH_KW, TORCH_KW)
    | dict.fromkeys(_INTERNAL, INTERNAL)
)
