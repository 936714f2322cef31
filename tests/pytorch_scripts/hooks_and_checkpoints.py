"""A tutorial-style classifier with the tools such tutorials add around the loop: forward
hooks that record activations, a gradient-norm hook, optimizer step hooks, gradient
clipping, a step scheduler, saving and loading state dicts, and evaluation."""

import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(7)
X = rng.standard_normal((256, 4)).astype(np.float32)
y = ((X[:, 0] + X[:, 1] * X[:, 2]) > 0).astype(np.int64)
train = TensorDataset(torch.from_numpy(X[:192]), torch.from_numpy(y[:192]))
test = TensorDataset(torch.from_numpy(X[192:]), torch.from_numpy(y[192:]))
loader = DataLoader(train, batch_size=32, shuffle=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 32)
        self.fc2 = nn.Linear(32, 32)
        self.out = nn.Linear(32, 2)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return self.out(x)


model = Net()
print(model)
print("parameters:", sum(p.numel() for p in model.parameters() if p.requires_grad))
print("fc2 weight:", tuple(model.get_parameter("fc2.weight").shape))

activations = {}


def save_activation(name):
    def hook(module, inputs, output):
        activations[name] = output.detach()

    return hook


handles = [m.register_forward_hook(save_activation(n)) for n, m in model.named_children()]
grad_norms = []
model.register_full_backward_pre_hook(lambda m, grad_output: grad_norms.append(grad_output[0].norm().item()))

optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
steps = [0]
optimizer.register_step_post_hook(lambda opt, args, kwargs: steps.__setitem__(0, steps[0] + 1))

for epoch in range(6):
    model.train()
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        total += loss.item() * xb.size(0)
    scheduler.step()
    print(f"epoch {epoch} loss {total / len(train):.4f} lr {scheduler.get_last_lr()[0]:.4f}")

print("optimizer steps:", steps[0], "backward pre-hook calls:", len(grad_norms))
print("recorded:", sorted(activations), tuple(activations["fc2"].shape))
for h in handles:
    h.remove()

buffer = io.BytesIO()
torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
buffer.seek(0)
checkpoint = torch.load(buffer)
restored = Net()
print(restored.load_state_dict(checkpoint["model"]))
restored.eval()
with torch.no_grad():
    xs, ys = test.tensors
    predictions = restored(xs).argmax(dim=1)
    correct = (predictions == ys).sum().item()
print(f"test accuracy {correct / len(test):.3f}")
print("same outputs:", torch.allclose(restored(xs), model(xs)))
