"""A tensor-basics tutorial, as written for PyTorch: creation, dtypes, math, reductions,
indexing, formatting. Every value printed is deterministic."""

import numpy as np
import torch

# --- creation
data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
print(x_data, x_data.dtype)
x_np = torch.from_numpy(np.array(data))
print(x_np)
x_ones = torch.ones_like(x_data)
print(f"Ones Tensor: \n {x_ones} \n")
x_float = torch.zeros_like(x_data, dtype=torch.float)
print(f"Zeros Tensor: \n {x_float} \n")
shape = (2, 3)
print(torch.ones(shape), torch.zeros(shape, dtype=torch.long), torch.full((2, 2), 7.0))
print(torch.arange(5), torch.arange(0, 1, 0.25), torch.linspace(-1, 1, steps=5))
print(torch.eye(3), torch.empty(2, 2).shape, torch.zeros(2, 3, device="cpu").device)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"Using {device} device", torch.device("cuda").type)

# --- attributes and dtypes
tensor = torch.arange(12, dtype=torch.float32).reshape(3, 4)
print(f"Shape of tensor: {tensor.shape}")
print(f"Datatype of tensor: {tensor.dtype}")
print(f"Device tensor is stored on: {tensor.device}")
print(tensor.size(), tensor.size(1), tensor.numel(), tensor.nelement(), tensor.dim())
print(tensor.long().dtype, tensor.int().dtype, tensor.double().dtype, tensor.half().dtype)
print(tensor.bool().dtype, tensor.type(torch.float64).dtype, tensor.float().dtype, tensor.type())
print(torch.get_default_dtype(), torch.float is torch.float32, torch.long == torch.int64)
print(torch.tensor([1, 2]) / 2, torch.tensor([1, 2]) * 1.5, (torch.tensor([1, 2]) > 1).dtype)

# --- indexing and joining
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:, 1] = 0
print(tensor)
t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1, torch.stack([tensor[0], tensor[1]]).shape)
print(tensor.T, tensor.t().shape, tensor.permute(1, 0).shape, tensor.transpose(0, 1).shape)
print(tensor.view(-1), tensor.view(2, 6), tensor.flatten(), tensor.unsqueeze(0).shape)
print(tensor.unsqueeze(0).squeeze(0).shape, tensor.reshape(4, 3)[1:3])
print(torch.where(tensor > 5, tensor, torch.zeros_like(tensor)))
print(tensor.gather(1, torch.tensor([[0], [1], [3]])), tensor[[0, 2]], tensor[tensor > 6])
print(tensor.chunk(2, dim=1)[0], tensor.split([1, 2], dim=0)[1], tensor.flip(0))

# --- arithmetic
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, out=y3)
print(y1, torch.equal(y1, y2), torch.equal(y1, y3))
z1 = tensor * tensor
z2 = tensor.mul(tensor)
z3 = torch.rand_like(tensor)
torch.mul(tensor, tensor, out=z3)
print(z1, torch.allclose(z2, z3))
print(torch.add(tensor, 1, alpha=2), tensor.sub(1), tensor.add(tensor, alpha=0.5), tensor.div(4))
print(torch.sin(tensor), torch.cos(tensor).abs().max(), torch.exp(tensor / 10), torch.log1p(tensor))
print(torch.sqrt(tensor), tensor.rsqrt()[0, 2:], torch.tanh(tensor / 5), torch.sigmoid(tensor - 5))
print(torch.clamp(tensor, 2, 8), tensor.clamp(min=3), torch.round(tensor / 3), torch.floor(tensor / 3))
print(torch.pow(tensor, 2), tensor**0.5, 2**torch.arange(4), torch.log2(tensor + 1), torch.erf(tensor / 10))
print(torch.maximum(tensor, torch.full_like(tensor, 5)), torch.sign(tensor - 5), tensor.square()[1])

# --- reductions
agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))
print(tensor.sum(dim=0), tensor.sum(1, keepdim=True), tensor.sum(axis=1, keepdims=True))
print(tensor.mean(), tensor.mean(0), tensor.std(), tensor.var(1), tensor.std(dim=0, unbiased=False))
print(tensor.max(), tensor.max(dim=1), tensor.min(0).values, tensor.argmax(), tensor.argmax(dim=1))
values, indices = torch.max(tensor, 1)
print(values, indices, torch.topk(tensor, 2).values, torch.sort(tensor, descending=True).indices)
print(tensor.cumsum(0), tensor.prod(1), tensor.norm(), torch.norm(tensor, dim=1), tensor.median())
print(torch.all(tensor >= 0), torch.any(tensor > 10), (tensor > 3).all(dim=1), tensor.logsumexp(1))
print(torch.softmax(tensor, dim=1), torch.log_softmax(tensor, 1)[0])
print(torch.histc(tensor, bins=4, min=0, max=12), torch.unique(tensor), torch.count_nonzero(tensor))

# --- in place and formatting
tensor.add_(5)
print(tensor)
tensor.mul_(2).sub_(1)
print(tensor, tensor.clamp_(0, 20).max())
loss = torch.tensor(0.123456)
print(f"loss {loss:.4f}", "{:+.2f}".format(loss), f"{loss.item():.3e}", loss)
torch.set_printoptions(precision=2)
print(torch.tensor([1.23456, 2.5]))
torch.set_printoptions(profile="default")
print(torch.arange(2000))
