"""Custom autograd functions, as PyTorch's tutorial "Defining new autograd Functions"
writes them: LegendrePolynomial3 fitted to sin(x) with manual updates under no_grad, then
the rest of the protocol a course uses: non-tensor arguments, ctx.needs_input_grad, two
outputs with one marked non-differentiable, a straight-through estimator, and
torch.autograd.grad through a custom function. Every printed value is deterministic."""

import math

import numpy as np
import torch


class LegendrePolynomial3(torch.autograd.Function):
    """P3(x) = ½(5x³ - 3x): forward saves the input, backward applies P3'(x) = 1.5(5x² - 1)."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input**3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input**2 - 1)


dtype = torch.float64
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.from_numpy(np.sin(x.numpy()))  # the tutorial's torch.sin(x)

# the tutorial's starting point: weights chosen so that the fit converges
a = torch.tensor(0.0, dtype=dtype, requires_grad=True)
b = torch.tensor(-1.0, dtype=dtype, requires_grad=True)
c = torch.tensor(0.0, dtype=dtype, requires_grad=True)
d = torch.tensor(0.3, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
for t in range(2000):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 400 == 99:
        print(t, f"{loss.item():.6f}")
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
print(f"Result: y = {a.item():.6f} + {b.item():.6f} * P3({c.item():.6f} + {d.item():.6f} x)")


class ScaledPower(torch.autograd.Function):
    """x ** p * scale, with a Python number p and scale: backward returns None for them."""

    @staticmethod
    def forward(ctx, x, p, scale):
        ctx.save_for_backward(x)
        ctx.p, ctx.scale = p, scale
        return x**p * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        print("needs_input_grad", ctx.needs_input_grad)
        grad_x = grad * ctx.p * x ** (ctx.p - 1) * ctx.scale if ctx.needs_input_grad[0] else None
        return grad_x, None, None


v = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
ScaledPower.apply(v, 3, 0.5).sum().backward()
print(v.grad.tolist())


class MaxAndArgmax(torch.autograd.Function):
    """Two outputs: the row maximum (differentiable) and where it is (not)."""

    @staticmethod
    def forward(ctx, x):
        values, indices = x.max(dim=1)
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(indices)
        ctx.columns = x.shape[1]
        return values, indices

    @staticmethod
    def backward(ctx, grad_values, grad_indices):
        (indices,) = ctx.saved_tensors
        grad = torch.zeros(grad_values.shape[0], ctx.columns, dtype=grad_values.dtype)
        grad[range(grad_values.shape[0]), indices] = grad_values
        return grad


m = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
values, indices = MaxAndArgmax.apply(m)
print(values, indices, values.requires_grad, indices.requires_grad)
(values * torch.tensor([1.0, 10.0])).sum().backward()
print(m.grad)


class StraightThroughSign(torch.autograd.Function):
    """sign(x) forward, identity backward clipped to |x| <= 1 (binarised networks)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).float()


w = torch.tensor([-2.0, -0.5, 0.25, 3.0], requires_grad=True)
out = StraightThroughSign.apply(w)
(out * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
print(out, w.grad)

# torch.autograd.grad through a custom function: the gradient, without touching .grad
s = torch.tensor([0.5, -1.0], dtype=dtype, requires_grad=True)
(g,) = torch.autograd.grad(LegendrePolynomial3.apply(s).sum(), s)
print(g.tolist(), g.dtype, s.grad)

# a tensor saved for backward and then changed in place: torch's error, in both
z = torch.tensor([0.1, 0.2], requires_grad=True)
saved = LegendrePolynomial3.apply(z * 1)
inner = z * 1
result = LegendrePolynomial3.apply(inner)
inner.mul_(2)
try:
    result.sum().backward()
except RuntimeError as error:
    print("RuntimeError:", "modified by an inplace operation" in str(error))
