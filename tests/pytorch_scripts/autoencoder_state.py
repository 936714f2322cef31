"""A tutorial-style autoencoder on 8x8 images with what such tutorials reach for around it:
nn.Unflatten to give the decoder's output its image shape, F.pad to frame the images,
a layer that keeps a setting as extra state, state-dict hooks that rename an old
checkpoint's keys, optimizer state-dict hooks, and a forward hook with keyword arguments."""

import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(3)
# 8x8 "images": a bright bar at a random row or column, plus noise
images = np.zeros((128, 1, 8, 8), dtype=np.float32)
for i in range(128):
    where = rng.integers(1, 7)
    if i % 2:
        images[i, 0, where, 1:7] = 1.0
    else:
        images[i, 0, 1:7, where] = 1.0
images += rng.normal(0, 0.05, images.shape).astype(np.float32)
x_all = torch.from_numpy(images)
print("framed:", tuple(F.pad(x_all[:2], (1, 1, 1, 1)).shape))
print("mirrored row:", F.pad(x_all[0, 0, :1, :4], (2, 1), mode="reflect").round(decimals=2))


class Scale(nn.Module):
    """Multiplies by a fixed factor, saved in the state dict as extra state."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x, boost=1.0):
        return x * self.factor * boost

    def get_extra_state(self):
        return {"factor": self.factor}

    def set_extra_state(self, state):
        self.factor = state["factor"]


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 4))
        self.decoder = nn.Sequential(
            nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 64), nn.Unflatten(1, (1, 8, 8))
        )
        self.scale = Scale(1.0)

    def forward(self, x):
        return self.scale(torch.sigmoid(self.decoder(self.encoder(x))), boost=1.0)


model = AutoEncoder()
print(model)
print("state keys:", list(model.state_dict()))
seen = []
model.scale.register_forward_hook(
    lambda module, args, kwargs, output: seen.append(kwargs["boost"]), with_kwargs=True
)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(30):
    for start in range(0, 128, 32):
        batch = x_all[start : start + 32]
        loss = F.mse_loss(model(batch), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if epoch % 10 == 9:
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}")
print("hook saw boost:", sorted(set(seen)), "calls:", len(seen))

# an "old" checkpoint whose decoder was called "dec", with another scale
model.scale.factor = 0.5
old = {
    k.replace("decoder.", "dec."): v.clone() if torch.is_tensor(v) else dict(v)
    for k, v in model.state_dict().items()
}
fresh = AutoEncoder()
print("strict load without a fix:", end=" ")
try:
    fresh.load_state_dict(old)
except RuntimeError as error:
    print(str(error).splitlines()[0])


def rename(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
    for key in [k for k in state_dict if k.startswith(prefix + "dec.")]:
        state_dict[key.replace("dec.", "decoder.", 1)] = state_dict.pop(key)


fresh.register_load_state_dict_pre_hook(rename)
print(fresh.load_state_dict(old))
print("scale factor after load:", fresh.scale.factor)
with torch.no_grad():
    print("same reconstruction:", torch.allclose(fresh(x_all[:4]), model(x_all[:4])))

# optimizer state through a stream, with hooks that note and adapt it
notes = []
optimizer.register_state_dict_post_hook(lambda opt, sd: notes.append(len(sd["state"])))
optimizer.register_load_state_dict_pre_hook(
    lambda opt, sd: {**sd, "param_groups": [dict(g, lr=0.001) for g in sd["param_groups"]]}
)
buffer = io.BytesIO()
torch.save(optimizer.state_dict(), buffer)
buffer.seek(0)
optimizer.load_state_dict(torch.load(buffer))
print("states saved:", notes, "lr after load:", optimizer.param_groups[0]["lr"])
