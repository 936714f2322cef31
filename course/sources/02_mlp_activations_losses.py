# %% [markdown]
# # Lecture 2 · Layers in matrix form, activations and losses
#
# One neuron draws one line. This lecture stacks neurons into **layers**, writes a whole
# network as a few matrix products, shows why the layers need a non-linear **activation**
# in between, compares the usual activations and their derivatives, and matches each task
# (regression, binary, multi-label, multi-class) with its output activation and loss.

# %%
import matplotlib.pyplot as plt
import numpy as np
from checks import exercise

import chainrule
from chainrule import nn, optim
from chainrule.data import spiral
from chainrule.nn import functional as F

chainrule.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 2.1 A layer is a matrix product
#
# A layer of $m$ neurons, each with $k$ weights, is a matrix $W \in \mathbb{R}^{k \times m}$
# (one column per neuron). For a whole batch $X \in \mathbb{R}^{n \times k}$ at once:
#
# $$h^1 = f^1(X W_1 + b_1),\quad h^2 = f^2(h^1 W_2 + b_2),\quad \dots,\quad
# \hat y = f^K(h^{K-1} W_K + b_K).$$
#
# Adding the bias vector $b$ to every row is NumPy **broadcasting**. `nn.Linear(k, m)` keeps
# its weight as PyTorch does, with shape $(m, k)$, and computes $x W^\top + b$: the
# lectures' $W$ is `layer.weight.T`.

# %%
layer1, layer2 = nn.Linear(3, 4), nn.Linear(4, 2)
X = rng.normal(size=(5, 3)).astype(np.float32)
W1, b1 = layer1.weight.detach().numpy().T, layer1.bias.detach().numpy()
W2, b2 = layer2.weight.detach().numpy().T, layer2.bias.detach().numpy()
by_hand = np.tanh(X @ W1 + b1) @ W2 + b2  # (5, 3) @ (3, 4) + (4,) -> (5, 4) ...
network = nn.Sequential(layer1, nn.Tanh(), layer2)
with chainrule.no_grad():
    by_chainrule = network(chainrule.tensor(X)).numpy()
print("shapes:", X.shape, "->", (X @ W1).shape, "->", by_hand.shape)
print("same numbers:", np.allclose(by_hand, by_chainrule, atol=1e-6))

# %% [markdown]
# ## 2.2 Why activations: linear layers collapse
#
# Without activations, $X W_1 W_2 W_3 = X W$ with $W = W_1 W_2 W_3$: any stack of linear
# layers is one linear layer, and still draws a single straight boundary.

# %%
deep_linear = nn.Sequential(nn.Linear(2, 8), nn.Linear(8, 8), nn.Linear(8, 1))
Ws = [m.weight.detach().numpy().T for m in deep_linear if isinstance(m, nn.Linear)]
W = Ws[0] @ Ws[1] @ Ws[2]
points = rng.normal(size=(6, 2)).astype(np.float32)
with chainrule.no_grad():
    out = deep_linear(chainrule.tensor(points)).numpy()
biases = deep_linear(chainrule.zeros(1, 2)).detach().numpy()  # what the biases add
print("3 linear layers = one matrix W1 W2 W3:", np.allclose(out, points @ W + biases, atol=1e-5))

# %% [markdown]
# ## 2.3 Activations and their derivatives
#
# | activation | $f(x)$ | $f'(x)$ | stated weakness |
# |---|---|---|---|
# | sigmoid | $\sigma(x) = \frac{1}{1+e^{-x}}$ | $\sigma(x)(1-\sigma(x)) \le \tfrac14$ | saturates, not zero-centred |
# | tanh | $\tanh x$ | $1 - \tanh^2 x$ | still saturates |
# | ReLU | $\max(0, x)$ | $[x > 0]$ | "dies" left of 0 |
# | Leaky ReLU | $x$ or $\alpha x$ for $x<0$ ($\alpha = 0.1$) | $1$ or $\alpha$ | — |
# | ELU | $x$ or $\alpha(e^x - 1)$ | $1$ or $\alpha e^x$ | — |
#
# We let autograd compute every derivative: $\sum_i f(x_i)$ has gradient $f'(x_i)$ at each
# $x_i$, so one `backward()` gives the whole curve.

# %%
activations = {
    "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "ReLU": nn.ReLU(),
    "Leaky ReLU (0.1)": nn.LeakyReLU(0.1), "ELU": nn.ELU(), "GELU": nn.GELU(),
}  # fmt: skip
grid = chainrule.tensor(np.linspace(-4, 4, 401, dtype=np.float32), requires_grad=True)
figure, (values, slopes) = plt.subplots(1, 2, figsize=(11, 3.5))
for name, activation in activations.items():
    grid.grad = None
    output = activation(grid)
    output.sum().backward()
    values.plot(grid.detach().numpy(), output.detach().numpy(), label=name)
    slopes.plot(grid.detach().numpy(), grid.grad.numpy(), label=name)
values.set(title="f(x)", ylim=(-1.5, 4))
slopes.set(title="f'(x), by autograd", ylim=(-0.1, 1.2))
values.legend(fontsize=8)
plt.show()

# %% [markdown]
# ### Exercise 1 · the derivative of tanh
#
# Write `tanh_derivative(x)` for a NumPy array, using only `np.tanh`. The check compares it
# with autograd at 50 points.


# %% [exercise]
def tanh_derivative(x):
    # BEGIN SOLUTION
    return 1.0 - np.tanh(x) ** 2
    # END SOLUTION


# %% [check]
with exercise("the derivative of tanh"):
    x_check = chainrule.tensor(rng.normal(0, 2, 50), dtype=chainrule.float64, requires_grad=True)
    x_check.tanh().sum().backward()
    mine = tanh_derivative(x_check.detach().numpy())
    assert np.allclose(mine, x_check.grad.numpy()), "compare with 1 - tanh(x)^2"

# %% [markdown]
# ## 2.4 The activation shapes the boundary
#
# The same 2-16-16-2 network, trained for a few hundred steps on the two spiral arms with
# each hidden activation: the decision boundary is made of the pieces the activation offers
# (straight kinks for ReLU, smooth curves for tanh).

# %%
points, labels = spiral(300, noise=0.1, seed=0)
inputs, targets = chainrule.tensor(points), chainrule.tensor(labels)
xx, yy = np.meshgrid(np.linspace(-6, 6, 90), np.linspace(-6, 6, 90))
plane = chainrule.tensor(np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float32))
figure, axes = plt.subplots(1, 3, figsize=(12, 3.8))
for axis, name in zip(axes, ["sigmoid", "tanh", "ReLU"], strict=True):
    chainrule.manual_seed(0)
    act = type(activations[name])
    model = nn.Sequential(nn.Linear(2, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, 2))
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    for step in range(400):
        loss = F.cross_entropy(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with chainrule.no_grad():
        accuracy = (model(inputs).argmax(1).numpy() == labels).mean()
        region = model(plane).argmax(1).numpy().reshape(xx.shape)
    axis.contourf(xx, yy, region, alpha=0.3, cmap="coolwarm")
    axis.scatter(points[:, 0], points[:, 1], c=labels, cmap="coolwarm", s=8)
    axis.set(title=f"{name}: loss {loss.item():.3f}, accuracy {accuracy:.0%}")
relu_model = model  # the ReLU network, looked inside in section 2.8
plt.show()

# %% [markdown]
# ## 2.5 Tasks and output heads
#
# "Regression and classification hardly differ": the body stays, the last layer's
# activation and the loss change.
#
# | task | target | output activation | loss | chainrule |
# |---|---|---|---|---|
# | regression | $y \in \mathbb{R}$ | identity | MSE (or MAE) | `F.mse_loss`, `F.l1_loss` |
# | multi-output regression | $y \in \mathbb{R}^K$ | identity | MSE | `F.mse_loss` |
# | binary | $y \in \{0, 1\}$ | sigmoid | BCE | `F.binary_cross_entropy_with_logits` |
# | multi-label | $y \in [0,1]^K$ | sigmoid per output | BCE | the same, $K$ outputs |
# | multi-class | $y \in \{0..K-1\}$ | softmax | $-\frac1n \sum_i \log \hat y_{i, y_i}$ | `F.cross_entropy` |
#
# Binary cross-entropy comes from maximum likelihood: with $p = \sigma(z)$,
# $\mathrm{BCE} = -\frac1n\sum_i \big[y_i \log p_i + (1-y_i)\log(1-p_i)\big]$.
# The prediction of a classifier is the **argmax** of its logits.

# %%
z = chainrule.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]])
y_class = chainrule.tensor([0, 2])
p = F.softmax(z, dim=1).detach().numpy()
by_formula = -np.mean(np.log(p[np.arange(2), y_class.numpy()]))
print(
    "cross-entropy:", round(F.cross_entropy(z, y_class).item(), 6), "formula:", round(by_formula, 6)
)
print("predicted classes (argmax of the logits):", z.argmax(dim=1).numpy())

# %% [markdown]
# ## 2.6 A stable softmax
#
# $\mathrm{softmax}(z)_j = e^{z_j} / \sum_l e^{z_l}$ overflows for logits near 1000
# ($e^{1000} = \infty$, and $\infty/\infty$ is NaN). Since
# $\mathrm{softmax}(z) = \mathrm{softmax}(z - \max z)$, subtracting the largest logit first
# gives the same probabilities without overflow.

# %%
logits = np.array([1000.0, 999.0, 998.0])
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(logits) / np.exp(logits).sum()
print("naive:", naive, " chainrule:", F.softmax(chainrule.tensor(logits), dim=0).numpy())

# %% [markdown]
# ### Exercise 2 · write the stable softmax
#
# `stable_softmax(z)` takes a 2-D NumPy array of logits (one row per example) and returns
# the probabilities row by row. It must survive logits of ±1000.


# %% [exercise]
def stable_softmax(z):
    # BEGIN SOLUTION
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
    # END SOLUTION


# %% [check]
with exercise("the stable softmax"):
    z_check = np.array([[1000.0, 999.0, -1000.0], [0.5, 0.1, -0.3]])
    mine = stable_softmax(z_check)
    assert np.isfinite(mine).all(), "your softmax overflowed: subtract each row's maximum"
    expected = F.softmax(chainrule.tensor(z_check), dim=1).numpy()
    assert np.allclose(mine, expected), f"yours {mine}, chainrule {expected}"

# %% [markdown]
# ## 2.7 Universal approximation
#
# One hidden layer with enough neurons approximates any continuous function on a bounded
# interval. Here $\sin x$ on $[-\pi, \pi]$ with 2, 5 and 30 tanh neurons.

# %%
x = np.linspace(-np.pi, np.pi, 200, dtype=np.float32).reshape(-1, 1)
inputs, targets = chainrule.tensor(x), chainrule.tensor(np.sin(x))
plt.figure(figsize=(6, 3.5))
plt.plot(x, np.sin(x), "k", lw=3, alpha=0.3, label="sin x")
for width in (2, 5, 30):
    chainrule.manual_seed(1)
    model = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, 1))
    optimizer = optim.Adam(model.parameters(), lr=0.03)
    for step in range(600):
        loss = F.mse_loss(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    plt.plot(x, model(inputs).detach().numpy(), label=f"{width} neurons, MSE {loss.item():.1e}")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 2.8 Deep representations
#
# Early layers learn simple features, later ones more meaningful ones. Look inside the
# ReLU network of section 2.4: a first-layer unit fires on a **half-plane** (its input is
# $w \cdot x + b$, one straight line), a second-layer unit combines sixteen of them and
# fires on a bent region that already follows the spiral.

# %%
with chainrule.no_grad():
    first = relu_model[1](relu_model[0](plane)).numpy()  # (points, 16) after the first ReLU
    second = relu_model[3](relu_model[2](chainrule.tensor(first))).numpy()
figure, axes = plt.subplots(1, 4, figsize=(12, 3))
panels = [
    ("layer 1, unit 0", first[:, 0]),
    ("layer 1, unit 1", first[:, 1]),
    ("layer 2, unit 0", second[:, 0]),
    ("layer 2, unit 1", second[:, 1]),
]
for axis, (title, units) in zip(axes, panels, strict=True):
    axis.contourf(xx, yy, (units > 0).reshape(xx.shape), levels=[-0.5, 0.5, 1.5], cmap="Greys")
    axis.set(title=f"{title} fires", xticks=[], yticks=[])
plt.show()

# %% [markdown]
# **Next:** lecture 3 opens the box: how `loss.backward()` finds every gradient.
