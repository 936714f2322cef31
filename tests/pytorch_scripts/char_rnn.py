"""A character-level recurrent name model, as PyTorch tutorials write it: nn.Embedding into
an nn.GRU (batch_first) and a linear head, padded targets with ignore_index, Adam with
gradient clipping (nn.utils.clip_grad_norm_), train and evaluation phases sharing one loop
under torch.set_grad_enabled, then names sampled step by step from the carried hidden state
with torch.multinomial and a seeded torch.Generator."""

import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(42)
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "names.txt")) as f:
    words = f.read().splitlines()[:240]
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
V = len(stoi)

T = max(len(w) for w in words) + 1
X = torch.zeros(len(words), T, dtype=torch.long)
Y = torch.full((len(words), T), -1, dtype=torch.long)
for i, w in enumerate(words):
    ix = [0] + [stoi[c] for c in w]
    X[i, : len(ix)] = torch.tensor(ix)
    Y[i, : len(ix)] = torch.tensor([stoi[c] for c in w] + [0])
split = int(0.8 * len(words))
data = {"train": (X[:split], Y[:split]), "eval": (X[split:], Y[split:])}
print(V, T, X.shape, Y[0].tolist())


class CharRNN(nn.Module):
    def __init__(self, vocab, emb, hidden):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.rnn = nn.GRU(emb, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, h=None):
        out, h = self.rnn(self.emb(x), h)
        return self.head(out), h


model = CharRNN(V, 8, 24)
print(model)
print(sum(p.numel() for p in model.parameters()), [k for k in model.state_dict()][:4])
print(f"{model.rnn.weight_hh_l0[0, :3].tolist()}")
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)

for epoch in range(4):
    for phase in ("train", "eval"):
        model.train(phase == "train")
        xs, ys = data[phase]
        total, batches = 0.0, 0
        order = torch.randperm(len(xs)) if phase == "train" else torch.arange(len(xs))
        for start in range(0, len(xs), 32):
            idx = order[start : start + 32]
            with torch.set_grad_enabled(phase == "train"):
                logits, _ = model(xs[idx])
                loss = F.cross_entropy(logits.view(-1, V), ys[idx].view(-1), ignore_index=-1)
                if phase == "train":
                    optimizer.zero_grad()
                    loss.backward()
                    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
                    optimizer.step()
            total += loss.item()
            batches += 1
        print(f"epoch {epoch} {phase} loss {total / batches:.4f}")
    print(f"  last gradient norm {norm.item():.4f}, requires_grad in eval: {loss.requires_grad}")

g = torch.Generator().manual_seed(2147483647)
model.eval()
with torch.no_grad():
    for _ in range(5):
        x, h, out = torch.zeros((1, 1), dtype=torch.long), None, []
        while True:
            logits, h = model(x, h)
            p = F.softmax(logits[0, -1], dim=0)
            ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            if ix == 0 or len(out) > 12:
                break
            out.append(itos[ix])
            x = torch.tensor([[ix]])
        print("".join(out))
