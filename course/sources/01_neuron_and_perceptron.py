# %% [markdown]
# # Lecture 1 · The neuron and Rosenblatt's perceptron
#
# This notebook builds the first model of the course from nothing: data and a loss, linear
# regression (closed form and gradient descent), one neuron with a threshold — Rosenblatt's
# perceptron of 1958 — and what a single neuron cannot do (XOR). Every formula has the
# code that computes it next to it, written with **chainrule**, a small NumPy framework with
# PyTorch's names.
#
# Run the cells from top to bottom (Shift+Enter). The exercises have an empty cell for your
# answer and a collapsed check cell below it: run both.

# %%
import matplotlib.pyplot as plt
import numpy as np
from checks import exercise

import chainrule
from chainrule import nn, optim
from chainrule.classic import LinearRegression, Perceptron
from chainrule.data import xor
from chainrule.nn import functional as F

chainrule.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1.1 Supervised learning: data, answers, a loss
#
# The data is a table $X \in \mathbb{R}^{n \times k}$: one row per object (say an
# apartment), one column per feature $x_1, \dots, x_k$ (area, floor, ...). For each object
# we know the answer $y_i$ (its price). We look for a function $a(x)$ whose answers are
# close to the true ones **on average over all objects**, for instance in the mean squared
# error
#
# $$L(a) = \frac{1}{n} \sum_{i=1}^{n} \big(a(x_i) - y_i\big)^2 .$$

# %%
n = 200
area = rng.uniform(20, 120, n)  # m²
floor = rng.integers(1, 20, n).astype(float)
price = 3.0 * area + 0.8 * floor + 20 + rng.normal(0, 15, n)  # thousands
X = np.column_stack([area, floor])
y = price
print("X:", X.shape, "y:", y.shape, "first apartment:", X[0], "->", round(y[0], 1))

# %% [markdown]
# ## 1.2 Linear regression: the closed form
#
# A linear model predicts $a(x) = w_0 + w_1 x_1 + \dots + w_k x_k$. Add a column of ones to
# $X$ so the bias $w_0$ is one more weight; then all predictions at once are $\hat y = Xw$.
# Setting the gradient of the MSE to zero gives the **normal equation**
#
# $$\hat w = (X^\top X)^{-1} X^\top y .$$

# %%
X1 = np.column_stack([np.ones(n), X])  # the bias as a column of ones
w_closed = np.linalg.solve(X1.T @ X1, X1.T @ y)  # solve, never invert explicitly
model = LinearRegression().fit(X, y)  # chainrule's version of the same formula
print("normal equation:       ", np.round(w_closed, 3))
print("LinearRegression():    ", np.round([model.intercept_, *model.coef_], 3))

# %% [markdown]
# ## 1.3 … or by gradient descent
#
# The MSE has a closed form; most losses do not (the mean *absolute* error
# $\frac1n\sum|a(x_i) - y_i|$ has none). Gradient descent works for all of them: start
# anywhere and repeat $w \leftarrow w - \eta\, \nabla_w L$. For the MSE,
# $\nabla_w L = \frac{2}{n} X^\top (Xw - y)$. chainrule computes that gradient for us:
# `loss.backward()` fills `w.grad`.

# %%
Xs = (X - X.mean(0)) / X.std(0)  # standardised features: one learning rate suits both
inputs, targets = chainrule.tensor(Xs), chainrule.tensor(y)
w = chainrule.zeros(2, requires_grad=True)
b = chainrule.zeros(1, requires_grad=True)
history = {"mse": [], "mae": []}
for loss_name in history:
    w = chainrule.zeros(2, requires_grad=True)
    b = chainrule.zeros(1, requires_grad=True)
    optimizer = optim.SGD([w, b], lr=0.05 if loss_name == "mse" else 5.0)
    for step in range(300):
        prediction = inputs @ w + b
        loss = (
            F.mse_loss(prediction, targets)
            if loss_name == "mse"
            else F.l1_loss(prediction, targets)
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history[loss_name].append(loss.item())
    print(f"{loss_name}: final loss {loss.item():.2f}")

figure, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for axis, (name, values) in zip(axes, history.items(), strict=True):
    axis.plot(values)
    axis.set(title=f"gradient descent on the {name.upper()}", xlabel="step", yscale="log")
plt.show()

# %% [markdown]
# ### Exercise 1 · the gradient of the MSE by hand
#
# Write `mse_gradient(X, w, y)` returning $\frac{2}{n} X^\top (Xw - y)$ with NumPy. The
# check compares it with the gradient chainrule's autograd computes.


# %% [exercise]
def mse_gradient(X, w, y):
    # BEGIN SOLUTION
    return 2.0 / len(X) * X.T @ (X @ w - y)
    # END SOLUTION


# %% [check]
with exercise("gradient of the MSE"):
    X_check = rng.normal(size=(7, 3))
    y_check = rng.normal(size=7)
    w_check = chainrule.tensor(rng.normal(size=3), requires_grad=True)
    F.mse_loss(chainrule.tensor(X_check) @ w_check, chainrule.tensor(y_check)).backward()
    mine = mse_gradient(X_check, w_check.detach().numpy(), y_check)
    assert np.allclose(mine, w_check.grad.numpy()), f"yours {mine}, autograd {w_check.grad}"

# %% [markdown]
# ## 1.4 The neuron
#
# McCulloch and Pitts (1943) modelled a neuron as a weighted sum of its inputs passed
# through an *activation* $f$:
#
# $$y = f\Big(\sum_i w_i x_i + b\Big).$$
#
# With the identity $f(t) = t$ this *is* linear regression. With the sigmoid
# $\sigma(t) = 1/(1 + e^{-t})$ it is logistic regression: the probability of class 1,
# trained with binary cross-entropy. With the step $f(t) = [t > 0]$ it is **Rosenblatt's
# perceptron** (1958), trained by his rule: for each misclassified example,
# $w \leftarrow w + \eta\,(y - \hat y)\,x$.

# %%
t = np.linspace(-6, 6, 400)
figure, axes = plt.subplots(1, 3, figsize=(11, 2.8))
for axis, (name, values) in zip(
    axes,
    {
        "identity (linear regression)": t,
        "sigmoid (logistic regression)": 1 / (1 + np.exp(-t)),
        "step [t > 0] (perceptron)": (t > 0).astype(float),
    }.items(),  # fmt: skip
    strict=True,
):
    axis.plot(t, values)
    axis.set(title=name, xlabel="t = w·x + b")
plt.show()

# %% [markdown]
# ## 1.5 The perceptron learns AND and OR …

# %%
corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
tables = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}


def boundary(axis, predict, X, y, title):
    """Colour the plane by the model's class and draw the points on top."""
    grid = np.stack(np.meshgrid(np.linspace(-0.5, 1.5, 120), np.linspace(-0.5, 1.5, 120)), -1)
    classes = predict(grid.reshape(-1, 2)).reshape(grid.shape[:2])
    axis.contourf(grid[..., 0], grid[..., 1], classes, levels=[-0.5, 0.5, 1.5], alpha=0.3,
                  cmap="coolwarm")  # fmt: skip
    axis.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=80)
    axis.set(title=title, xticks=[0, 1], yticks=[0, 1])


figure, axes = plt.subplots(1, 3, figsize=(11, 3.3))
for axis, (name, table) in zip(axes, tables.items(), strict=True):
    perceptron = Perceptron(lr=1.0, max_epochs=100, seed=0).fit(corners, np.array(table))
    right = int((perceptron.predict(corners) == np.array(table)).sum())
    boundary(axis, perceptron.predict, corners, table,
             f"{name}: {right}/4 right, converged={perceptron.converged_}")  # fmt: skip
plt.show()

# %% [markdown]
# ## 1.6 … but never XOR
#
# A single neuron draws one straight line $w \cdot x + b = 0$ through the plane. AND and OR
# are linearly separable; XOR is not: no line puts (0, 1) and (1, 0) on one side and
# (0, 0), (1, 1) on the other. That observation (Minsky and Papert, 1969) helped bring on
# the first "AI winter". The cure is a **hidden layer**: two neurons draw two lines, and a
# third combines them.

# %%
model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
optimizer = optim.Adam(model.parameters(), lr=0.05)
inputs, targets = chainrule.tensor(corners), chainrule.tensor(np.array(tables["XOR"], np.float32))
for step in range(500):
    loss = F.binary_cross_entropy_with_logits(model(inputs).reshape(-1), targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def hidden_layer_predict(points):
    with chainrule.no_grad():
        return (model(chainrule.tensor(points).float()).reshape(-1).numpy() > 0).astype(int)


figure, axis = plt.subplots(figsize=(3.6, 3.3))
right = int((hidden_layer_predict(corners) == np.array(tables["XOR"])).sum())
boundary(axis, hidden_layer_predict, corners, tables["XOR"], f"XOR, one hidden layer: {right}/4")
plt.show()

# %% [markdown]
# ### Exercise 2 · the perceptron rule by hand
#
# Write `perceptron_epoch(X, y, w, b, lr)`: one pass over the rows in order; for each row
# predict $\hat y = [w \cdot x + b > 0]$ and update $w \leftarrow w + \eta (y - \hat y) x$,
# $b \leftarrow b + \eta (y - \hat y)$. Return the new `(w, b)`. The check runs your rule
# until it stops changing on OR and asserts it classifies all four corners.


# %% [exercise]
def perceptron_epoch(X, y, w, b, lr=1.0):
    # BEGIN SOLUTION
    w = w.copy()
    for x_i, y_i in zip(X, y, strict=True):
        error = y_i - float(w @ x_i + b > 0)
        w += lr * error * x_i
        b += lr * error
    return w, b
    # END SOLUTION


# %% [check]
with exercise("the perceptron rule"):
    w_rule, b_rule = np.zeros(2), 0.0
    for _ in range(20):
        w_rule, b_rule = perceptron_epoch(corners, np.array(tables["OR"]), w_rule, b_rule)
    predicted = (corners @ w_rule + b_rule > 0).astype(int)
    assert predicted.tolist() == tables["OR"], f"your perceptron predicts {predicted} on OR"

# %% [markdown]
# ## 1.7 The same on noisier data
#
# TensorFlow Playground's XOR data set (`chainrule.data.xor`): 200 points in four
# quadrants. A perceptron stays near chance; a small MLP separates the quadrants.

# %%
points, labels = xor(200, noise=0.05, seed=0)
perceptron = Perceptron(max_epochs=50, seed=0).fit(points, labels)
print(f"perceptron on Playground XOR: {np.mean(perceptron.predict(points) == labels):.0%} right")

# %% [markdown]
# **Next:** lecture 2 stacks neurons into layers, in matrix form, and chooses activations
# and losses for each task.
