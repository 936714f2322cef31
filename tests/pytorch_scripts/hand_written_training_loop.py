"""A hand-written training loop, as the lectures write one before nn and optim: parameters
as leaf tensors, forward, backward, then updates through `p.data` and under no_grad, with
the gradients zeroed by hand. The data and the initial weights come from NumPy, so every
printed value is deterministic."""

import numpy as np
import torch

rng = np.random.default_rng(42)
X_np = rng.uniform(-1, 1, size=(64, 2)).astype(np.float32)
y_np = (X_np[:, 0] * X_np[:, 1] > 0).astype(np.float32)  # XOR-like quadrants
X, y = torch.tensor(X_np), torch.tensor(y_np)

W1 = torch.tensor(rng.standard_normal((2, 16)).astype(np.float32) * 0.5)
b1 = torch.zeros(16)
W2 = torch.tensor(rng.standard_normal((16, 1)).astype(np.float32) * 0.5)
b2 = torch.zeros(1)
parameters = [W1, b1, W2, b2]
for p in parameters:
    p.requires_grad = True
print("parameters:", sum(p.numel() for p in parameters))

lr = 0.5
for step in range(301):
    # forward
    h = torch.tanh(X @ W1 + b1)
    logits = (h @ W2 + b2).squeeze(1)
    probs = torch.sigmoid(logits)
    loss = -(y * torch.log(probs) + (1 - y) * torch.log(1 - probs)).mean()

    # backward
    for p in parameters:
        p.grad = None
    loss.backward()

    # update: three spellings from three lectures, all the same step
    if step < 100:
        for p in parameters:
            p.data += -lr * p.grad
    elif step < 200:
        for p in parameters:
            p.data.add_(p.grad, alpha=-lr)
    else:
        with torch.no_grad():
            for p in parameters:
                p -= lr * p.grad
    if step % 50 == 0:
        accuracy = ((probs > 0.5).float() == y).float().mean()
        print(f"step {step:3d} loss {loss.item():.4f} accuracy {accuracy.item():.3f}")

# .data is a detached view of the same memory: changing it changes the parameter,
# and the autograd graph does not see it
view = W2.data
print(view.requires_grad, view.grad_fn is None, W2.requires_grad)
before = W2[0, 0].item()
view[0, 0] = 0.0
print(W2[0, 0].item() == 0.0, before != 0.0)
W2.data.copy_(torch.zeros(16, 1))
W2.data.zero_()
print(W2.abs().sum().item(), W2.is_leaf)

# p.data = t swaps the values in, as weight surgery in the lectures does
b1.data = torch.ones(16) * 0.1
print(b1.sum().item(), b1.requires_grad)

# gradients accumulate until zeroed
W1.grad = None
loss = (X @ W1).sum()
loss.backward()
first = W1.grad.clone()
loss = (X @ W1).sum()
loss.backward()
print(torch.allclose(W1.grad, 2 * first))
W1.grad.zero_()
print(W1.grad.abs().sum().item())
