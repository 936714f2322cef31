"""The PyTorch tutorial loop: an nn.Module, a Dataset + DataLoader, an optimizer, a
train and a test function, then torch.save / torch.load of the state_dict and of a
training checkpoint. Seeded as the tutorial is (torch.manual_seed), with the layers' default
initialisation, a shuffling DataLoader and dropout: chainrule draws torch's numbers, so
every loss printed is torch's."""

import os
import tempfile

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"Using {device} device")

# two interleaved classes on a grid, no randomness
xs = torch.linspace(-2, 2, 24)
grid = torch.stack(torch.meshgrid(xs, xs, indexing="ij"), dim=-1).reshape(-1, 2)
labels = ((grid[:, 0] * grid[:, 1] > 0) & (grid.norm(dim=1) > 0.5)).long()
print(grid.shape, labels.shape, labels.sum().item(), labels.dtype)


class GridData(Dataset):
    def __init__(self, points, targets):
        self.points = points
        self.targets = targets

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, idx):
        return self.points[idx], self.targets[idx]


train_data = GridData(grid[::2], labels[::2])
test_data = TensorDataset(grid[1::2], labels[1::2])
train_dataloader = DataLoader(train_data, batch_size=32, shuffle=True, num_workers=0, pin_memory=False)
test_dataloader = DataLoader(test_data, batch_size=50, drop_last=True)
print(len(train_dataloader), len(test_dataloader))
for X, y in test_dataloader:
    print(f"Shape of X [N, F]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(2, 16),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(16, 16),
            nn.Tanh(),
            nn.Linear(16, 2),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
print(model.linear_relu_stack[0].weight[:2].detach(), model.linear_relu_stack[5].bias)
print(model.linear_relu_stack[0].weight.shape, sum(p.numel() for p in model.parameters()))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 4 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return test_loss


epochs = 5
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    test(test_dataloader, model, loss_fn)
print("Done!")

folder = tempfile.mkdtemp()
path = os.path.join(folder, "model.pth")
torch.save(model.state_dict(), path)
print("Saved PyTorch Model State to model.pth")
model2 = NeuralNetwork().to(device)
model2.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
state = torch.load(path)
print(list(state.keys()), type(state["linear_relu_stack.0.bias"]).__name__)
x = grid[:5]
print(torch.equal(model(x), model2(x)), model2(x).argmax(1))

checkpoint = os.path.join(folder, "checkpoint.pth")
torch.save({"epoch": epochs, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(), "loss": 0.25, "note": "grid"}, checkpoint)
loaded = torch.load(checkpoint, weights_only=True)
model3 = NeuralNetwork()
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.5, momentum=0.9)
model3.load_state_dict(loaded["model_state_dict"])
optimizer3.load_state_dict(loaded["optimizer_state_dict"])
print(loaded["epoch"], loaded["loss"], loaded["note"], optimizer3.param_groups[0]["lr"])
train(train_dataloader, model3, loss_fn, optimizer3)
train(train_dataloader, model, loss_fn, optimizer)
print(torch.allclose(model(x), model3(x)))
torch.save(torch.tensor([1.5, 2.5]), os.path.join(folder, "t.pt"))
print(torch.load(os.path.join(folder, "t.pt")))
