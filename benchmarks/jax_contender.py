"""JAX on the CPU: the same MLP, loss and optimizer as a jitted training step, driven by a
Python loop, which is what a JAX user who wants speed on a CPU writes.

    step = jax.jit(train_step, donate_argnums=(0, 1))   # params and optimizer state
    for xb, yb in batches:                               # on the device already
        params, state, loss = step(params, state, xb, yb)

The batches are put on the device once, before the timing (as chainrule's and PyTorch's
share the arrays), and each stretch of batches ends with block_until_ready, since JAX
dispatches asynchronously. Adam is written out as torch.optim.Adam defines it (no optax).
Threads: XLA's CPU pool is sized by `threads` through XLA_FLAGS, before jax is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.workloads import ADAM_LR, LEARNING_RATE, Workload, make_weights


def limit_threads(threads: int) -> None:
    """Must run before jax is first imported (XLA reads the flags once)."""
    if threads == 1:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def prepare_jax(workload: Workload, X: np.ndarray, y: np.ndarray) -> Callable[..., None]:
    import jax
    import jax.numpy as jnp

    tanh = workload.activation == "tanh"
    mse = workload.loss == "mse"
    adam = workload.optimizer == "adam"
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def forward(params: list[Any], x: Any) -> Any:
        h = x
        for i, (W, b) in enumerate(params):
            h = h @ W.T + b
            if i < len(params) - 1:
                h = jnp.tanh(h) if tanh else jnp.maximum(h, 0)
        return h

    def loss_of(params: list[Any], x: Any, target: Any) -> Any:
        out = forward(params, x)
        if mse:
            return jnp.mean((out - target) ** 2)
        log_p = jax.nn.log_softmax(out, axis=1)
        return -jnp.mean(jnp.take_along_axis(log_p, target[:, None], axis=1))

    def train_step(params: list[Any], state: Any, x: Any, target: Any) -> Any:
        loss, grads = jax.value_and_grad(loss_of)(params, x, target)
        if not adam:
            params = jax.tree_util.tree_map(lambda p, g: p - LEARNING_RATE * g, params, grads)
            return params, state, loss
        t, m, v = state
        t = t + 1
        m = jax.tree_util.tree_map(lambda m_, g: beta1 * m_ + (1 - beta1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v_, g: beta2 * v_ + (1 - beta2) * g * g, v, grads)
        step_size = ADAM_LR / (1 - beta1**t)
        root = jnp.sqrt(1 - beta2**t)
        params = jax.tree_util.tree_map(
            lambda p, m_, v_: p - step_size * m_ / (jnp.sqrt(v_) / root + eps), params, m, v
        )
        return params, (t, m, v), loss

    step = jax.jit(train_step, donate_argnums=(0, 1))
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in make_weights(workload)]
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state: Any = (jnp.zeros((), jnp.float32), zeros, jax.tree_util.tree_map(jnp.zeros_like, params))
    if not adam:
        state = jnp.zeros((), jnp.float32)
    targets = y if mse else y.astype(np.int32)
    batches = {
        start: (jax.device_put(X[start : start + workload.batch]),
                jax.device_put(targets[start : start + workload.batch]))
        for start in range(0, workload.samples, workload.batch)
    }  # fmt: skip
    held = [params, state]

    def epoch(first: int = 0, stop: int | None = None) -> None:
        params, state = held
        for start in range(first, workload.samples if stop is None else stop, workload.batch):
            xb, yb = batches[start]
            params, state, _ = step(params, state, xb, yb)
        jax.block_until_ready(params)
        held[:] = [params, state]

    return epoch
