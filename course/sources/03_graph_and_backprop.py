# %% [markdown]
# # Lecture 3 · The computational graph and backpropagation
#
# A network is "not a network but a computational graph": a chain of simple operations.
# This lecture computes the gradient of such a graph by hand on the slides' example, watches
# chainrule do the same thing gate by gate, looks at what the forward pass caches for the
# backward pass, states the four gate rules, and finally writes backpropagation for a
# two-layer network in plain NumPy — and checks it against autograd.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
from checks import exercise
from IPython.display import SVG, display

import chainrule
from chainrule import nn, viz
from chainrule.nn import functional as F

chainrule.manual_seed(0)
rng = np.random.default_rng(0)


def scalar(value):
    """A float64 leaf that wants its gradient."""
    return chainrule.tensor(value, dtype=chainrule.float64, requires_grad=True)


# %% [markdown]
# ## 3.1 The chain rule
#
# For $f(g(x))$: $\dfrac{df}{dx} = \dfrac{df}{dg}\cdot\dfrac{dg}{dx}$. To get
# $\partial L / \partial v$ for any value $v$ in a graph, walk from the loss back to $v$ and
# multiply the **local derivatives** along the way. Each node only needs its own local
# derivative: simple nodes, simple derivatives.
#
# ## 3.2 The slides' example, by hand
#
# $f(x, w_0, w_1) = 1 + e^{w_0 + w_1 x}$. Split it into nodes $a = w_1 x$, $u = w_0 + a$,
# $e = e^u$, $f = 1 + e$ and walk back from $f$ (upstream × local = downstream):
#
# $$\frac{\partial f}{\partial e} = 1,\quad
# \frac{\partial f}{\partial u} = 1 \cdot e^u,\quad
# \frac{\partial f}{\partial w_0} = e^u \cdot 1,\quad
# \frac{\partial f}{\partial w_1} = e^u \cdot x,\quad
# \frac{\partial f}{\partial x} = e^u \cdot w_1 .$$

# %%
x, w0, w1 = scalar(2.0), scalar(-1.0), scalar(1.5)
names = {"x": x, "w0": w0, "w1": w1}
f = 1 + (w0 + w1 * x).exp()
graph = viz.graph(f, names=names)  # record the graph before backward frees it
e_u = math.exp(-1.0 + 1.5 * 2.0)
print(f"f = {f.item():.4f}; by hand: df/dw0 = {e_u:.4f}, df/dw1 = {2 * e_u:.4f}, "
      f"df/dx = {1.5 * e_u:.4f}")  # fmt: skip

# %% [markdown]
# ## 3.3 … and by chainrule, gate by gate
#
# `viz.trace(f)` runs `f.backward()` and prints each node as the backward pass reaches it:
# the gradient arriving from above, the node's local derivative and what it hands down.

# %%
steps = viz.trace(f, names=names)
print({name: round(float(t.grad.item()), 4) for name, t in names.items()})

# %% [markdown]
# `viz.graph` draws the same graph, now with every gradient: a box per tensor (value,
# gradient), an ellipse per operation.

# %%
svg = graph.svg()
if svg is not None:  # Graphviz's `dot` draws it; without it, print graph.source (DOT text)
    display(SVG(svg))
else:
    print(graph.source)

# %% [markdown]
# ## 3.4 The forward pass caches what backward needs
#
# To multiply by a local derivative, a node needs values from the forward pass: the mul
# node needs the *other* input, exp needs its output $e^u$, a linear layer needs its input
# $x$ to form $\partial L/\partial W$. Each node keeps that **cache** until backward has
# used it, and then frees it.

# %%
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
batch = chainrule.tensor(rng.normal(size=(5, 3)).astype(np.float32))
loss = F.cross_entropy(model(batch), chainrule.tensor([0, 1, 1, 0, 1]))
nodes = viz.nodes(loss)  # the ops, in the order forward ran them
for node in nodes:
    cached = {key: getattr(value, "shape", value) for key, value in node.saved_values().items()}
    print(f"{node.name:26} caches {cached}")
loss.backward()
print("after backward, values still cached:", sum(len(node.saved_values()) for node in nodes))

# %% [markdown]
# ## 3.5 The four gate rules
#
# | gate | forward | backward (upstream $g$) | nickname |
# |---|---|---|---|
# | add | $a + b$ | $g$ to $a$, $g$ to $b$ | gradient **distributor** |
# | mul | $a \cdot b$ | $g\,b$ to $a$, $g\,a$ to $b$ | **swap** multiplier |
# | max | $\max(a, b)$ | all of $g$ to the larger input, 0 to the other | gradient **router** |
# | copy | $a$ used twice | the two upstream gradients **add** | gradient **adder** |
#
# Each tiny graph below gets the upstream gradient 5 (1 for copy).

# %%
gates = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "max": lambda a, b: a.maximum(b),
    "copy": lambda a, b: a * 3 + a * 4,
}
for name, build in gates.items():
    a, b = scalar(2.0), scalar(-3.0)
    out = build(a, b)
    upstream = chainrule.tensor(1.0 if name == "copy" else 5.0, dtype=chainrule.float64)
    out.backward(upstream)
    grad_b = None if b.grad is None else b.grad.item()
    da = a.grad.item()
    print(f"{name:5}: a=2, b=-3, upstream {upstream.item():g} -> da = {da:g}, db = {grad_b}")

# %% [markdown]
# ### Exercise 1 · gradients by the gate rules
#
# For $q = \max(a \cdot b,\ c) + a$ at $a = 3, b = -2, c = -1$, write `gate_gradients()`
# returning the tuple $(\partial q/\partial a, \partial q/\partial b, \partial q/\partial c)$
# worked out *by hand* with the gate rules (no autograd in your answer). Hint: $a$ is used
# twice; which input of the max gate is larger?


# %% [exercise]
def gate_gradients():
    # BEGIN SOLUTION
    # a*b = -6 < c = -1: the max routes everything to c; a gets 1 from the add only
    return (1.0, 0.0, 1.0)
    # END SOLUTION


# %% [check]
with exercise("gradients by the gate rules"):
    a, b, c = scalar(3.0), scalar(-2.0), scalar(-1.0)
    ((a * b).maximum(c) + a).backward()
    autograd = (a.grad.item(), 0.0 if b.grad is None else b.grad.item(), c.grad.item())
    assert np.allclose(gate_gradients(), autograd), f"autograd says {autograd}"

# %% [markdown]
# ## 3.6 Backpropagation for a two-layer network, in NumPy
#
# Forward, with a cache: $z_1 = X W_1 + b_1$, $h = \max(0, z_1)$, $z_2 = h W_2 + b_2$,
# $L = \mathrm{CE}(z_2, y)$. Backward, right to left, each step one gate rule:
#
# $$G_2 = \frac{\partial L}{\partial z_2} = \frac{\mathrm{softmax}(z_2) - \mathrm{onehot}(y)}{n},
# \quad \frac{\partial L}{\partial W_2} = h^\top G_2,\quad
# \frac{\partial L}{\partial b_2} = \textstyle\sum_i G_2[i],\quad
# G_h = G_2 W_2^\top,$$
# $$G_1 = G_h \odot [z_1 > 0],\quad \frac{\partial L}{\partial W_1} = X^\top G_1,\quad
# \frac{\partial L}{\partial b_1} = \textstyle\sum_i G_1[i].$$
#
# The bias gradient is a sum over the rows: the bias was *copied* (broadcast) to every row
# in forward, and copies add their gradients.


# %%
def forward(X, params):
    W1, b1, W2, b2 = params
    z1 = X @ W1 + b1
    h = np.maximum(0, z1)
    z2 = h @ W2 + b2
    return z2, {"X": X, "z1": z1, "h": h}  # the cache


def softmax_rows(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


X_np = rng.normal(size=(8, 3))
y_np = rng.integers(0, 2, 8)
params = [rng.normal(size=(3, 5)), np.zeros(5), rng.normal(size=(5, 2)), np.zeros(2)]
z2, cache = forward(X_np, params)
G2 = (softmax_rows(z2) - np.eye(2)[y_np]) / len(X_np)
print("dL/dz2 has shape", G2.shape, "- one row per example, one column per class")

# %% [markdown]
# ### Exercise 2 · finish the backward pass
#
# Write `backward(G2, cache, params)` returning `[dW1, db1, dW2, db2]` with the formulas
# above. The check compares all four with chainrule's autograd on the same numbers.


# %% [exercise]
def backward(G2, cache, params):
    W1, b1, W2, b2 = params
    # BEGIN SOLUTION
    dW2 = cache["h"].T @ G2
    db2 = G2.sum(axis=0)
    G1 = (G2 @ W2.T) * (cache["z1"] > 0)
    dW1 = cache["X"].T @ G1
    db1 = G1.sum(axis=0)
    return [dW1, db1, dW2, db2]
    # END SOLUTION


# %% [check]
with exercise("backpropagation by hand"):
    leaves = [chainrule.tensor(p, requires_grad=True) for p in params]
    z1_t = chainrule.tensor(X_np) @ leaves[0] + leaves[1]
    z2_t = z1_t.relu() @ leaves[2] + leaves[3]
    F.cross_entropy(z2_t, chainrule.tensor(y_np)).backward()
    mine = backward(G2, cache, params)
    for name, yours, leaf in zip(["dW1", "db1", "dW2", "db2"], mine, leaves, strict=True):
        assert np.allclose(yours, leaf.grad.numpy()), f"{name} differs from autograd"

# %% [markdown]
# ## 3.7 Is autograd right? Finite differences
#
# $\dfrac{\partial L}{\partial w} \approx \dfrac{L(w + \varepsilon) - L(w - \varepsilon)}{2\varepsilon}$
# in float64 agrees with backprop to about $10^{-8}$: `chainrule.gradcheck` does this for
# every input. It is the test behind every op in chainrule.

# %%
w = chainrule.tensor(rng.normal(size=(3, 2)), requires_grad=True)
data = chainrule.tensor(rng.normal(size=(4, 3)))
print("gradcheck passes:", chainrule.gradcheck(lambda w: ((data @ w).tanh() ** 2).sum(), (w,)))

# %% [markdown]
# ## 3.8 The graph of a whole network
#
# The same drawing for a small MLP's loss, with the parameter names taken from the model:
# every linear layer is one node, every activation another, the loss at the bottom.

# %%
small = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
batch = chainrule.tensor(rng.normal(size=(4, 2)).astype(np.float32))
loss = F.cross_entropy(small(batch), chainrule.tensor([0, 1, 1, 0]))
network_graph = viz.graph(loss, names=small)
loss.backward()
svg = network_graph.svg()
if svg is not None:
    display(SVG(svg))
else:
    print(network_graph.source)

# %% [markdown]
# The gradients flow back through exactly these nodes; their sizes, layer by layer, are
# the subject of the next lecture (vanishing gradients).

# %%
norms = {name: float(np.linalg.norm(p.grad.numpy())) for name, p in small.named_parameters()}
plt.figure(figsize=(5, 2.8))
plt.bar(list(norms), list(norms.values()))
plt.ylabel("‖∂L/∂θ‖")
plt.title("gradient norm of each parameter")
plt.show()
