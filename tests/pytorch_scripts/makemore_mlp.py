"""A makemore-style character model, as the lecture notebooks build it for PyTorch:
bigram counts, sampling with torch.multinomial and a torch.Generator, then an MLP with an
embedding table C[X], .view, F.cross_entropy and a manual backward pass checked against
autograd. chainrule's random streams are torch's, so everything is printed exactly: the
names sampled with the seeded Generator, the initial weights, the losses of the seeded
mini-batch training and the names the MLP then samples."""

import os

import torch
import torch.nn.functional as F

words = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "names.txt")).read().splitlines()
print(len(words), min(len(w) for w in words), max(len(w) for w in words))
chars = sorted(list(set("".join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
V = len(stoi)
print(V)

# --- bigram counts
N = torch.zeros((V, V), dtype=torch.int32)
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        N[stoi[ch1], stoi[ch2]] += 1
print(N[0, 1:6], N.sum(), N.dtype)
P = (N + 1).float()
P /= P.sum(1, keepdims=True)
print(P[0].sum().item() - 1 < 1e-6, P.shape)

log_likelihood = 0.0
n = 0
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        prob = P[stoi[ch1], stoi[ch2]]
        log_likelihood += torch.log(prob)
        n += 1
nll = -log_likelihood
print(f"{nll=}")
print(f"{nll/n}")

g = torch.Generator().manual_seed(2147483647)
samples = []
for i in range(5):
    out = []
    ix = 0
    while True:
        p = P[ix]
        ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
        out.append(itos[ix])
        if ix == 0:
            break
    samples.append("".join(out))
print(len(samples), all(s.endswith(".") and set(s[:-1]) <= set(chars) for s in samples))
print(samples)

# --- the same bigram as a one-layer network
xs, ys = [], []
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        xs.append(stoi[ch1])
        ys.append(stoi[ch2])
xs = torch.tensor(xs)
ys = torch.tensor(ys)
num = xs.nelement()
W = torch.zeros((V, V), requires_grad=True)
for k in range(20):
    xenc = F.one_hot(xs, num_classes=V).float()
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdims=True)
    loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W**2).mean()
    W.grad = None
    loss.backward()
    with torch.no_grad():
        W -= 50 * W.grad
    if k % 5 == 0:
        print(k, f"{loss.item():.4f}")

# --- MLP: embeddings, a tanh layer, cross-entropy
block_size = 3


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


Xtr, Ytr = build_dataset(words)
print(Xtr.shape, Xtr.dtype, Ytr.shape, Ytr.dtype)

g = torch.Generator().manual_seed(2147483647)
C = torch.randn((V, 10), generator=g)
W1 = torch.randn((30, 64), generator=g) * (5 / 3) / (30**0.5)
b1 = torch.randn(64, generator=g) * 0.01
W2 = torch.randn((64, V), generator=g) * 0.01
b2 = torch.randn(V, generator=g) * 0
parameters = [C, W1, b1, W2, b2]
print(sum(p.nelement() for p in parameters))
print(C[0], W1[0, :4], b1[:3], W2[0, :3])
for p in parameters:
    p.requires_grad = True

losses = []
for i in range(300):
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
    emb = C[Xtr[ix]]
    h = torch.tanh(emb.view(-1, 30) @ W1 + b1)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Ytr[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    lr = 0.1 if i < 200 else 0.01
    for p in parameters:
        p.data += -lr * p.grad
    losses.append(loss.log10().item())
    if i % 50 == 0 or i == 299:
        print(i, ix[:4].tolist(), f"{loss.item():.4f}")
print(len(losses), sum(losses[-50:]) / 50 < sum(losses[:50]) / 50)

# --- manual backward of the last layers, checked against autograd
emb = C[Xtr[:64]]
embcat = emb.view(emb.shape[0], -1)
hpre = embcat @ W1 + b1
h = torch.tanh(hpre)
logits = h @ W2 + b2
for t in [logits, h, hpre]:
    t.retain_grad()
loss = F.cross_entropy(logits, Ytr[:64])
for p in parameters:
    p.grad = None
loss.backward()
n = logits.shape[0]
# the manual backward pass, in the graph as in the lecture (in-place on non-leaves)
dlogits = F.softmax(logits, 1)
dlogits[range(n), Ytr[:64]] -= 1
dlogits /= n
dh = dlogits @ W2.T
dW2 = h.T @ dlogits
db2 = dlogits.sum(0)
dhpre = (1.0 - h**2) * dh
dW1 = embcat.T @ dhpre
db1 = dhpre.sum(0)


def cmp(s, dt, t):
    ex = torch.all(dt == t.grad).item()
    app = torch.allclose(dt, t.grad, atol=1e-6)
    print(f"{s:15s} | approximate: {str(app):5s}")


cmp("logits", dlogits, logits)
cmp("h", dh, h)
cmp("W2", dW2, W2)
cmp("b2", db2, b2)
cmp("hpre", dhpre, hpre)
cmp("W1", dW1, W1)
cmp("b1", db1, b1)

# --- sample from the MLP
g = torch.Generator().manual_seed(2147483647 + 10)
names = []
for _ in range(5):
    out = []
    context = [0] * block_size
    while True:
        emb = C[torch.tensor([context])]
        h = torch.tanh(emb.view(1, -1) @ W1 + b1)
        logits = h @ W2 + b2
        probs = F.softmax(logits, dim=1)
        ix = torch.multinomial(probs, num_samples=1, generator=g).item()
        context = context[1:] + [ix]
        out.append(ix)
        if ix == 0 or len(out) > 30:
            break
    names.append("".join(itos[i] for i in out))
print(len(names), all(set(n) <= set(chars) | {"."} for n in names))
print(names)
