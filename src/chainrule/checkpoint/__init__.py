"""Save and load models and training checkpoints as safetensors files.

A safetensors file is an 8-byte little-endian header length, a JSON header (each tensor's
dtype, shape and byte range, plus a ``__metadata__`` dict of strings) and the raw tensor
bytes. Loading one reads JSON and copies bytes: it never unpickles and never runs code, so
a checkpoint from anywhere is safe to open (unlike ``torch.load`` of a pickle).

What `save(obj, path)` accepts and writes:

* a Module: its ``state_dict()`` under the same names (``0.weight``, ``0.bias``, ...), so
  the file is also a PyTorch-style state_dict file (``safetensors.torch.load_file`` reads
  it), plus, for a `Sequential` of built-in layers, its architecture as JSON in the
  metadata key ``chainrule.config`` (see `chainrule.nn.config`): `load` then rebuilds the
  model with no code from you.
* a dict of Tensors / ndarrays (a state_dict): saved as is, under its own keys.
* a dict "training checkpoint", for example::

      chainrule.save({
          "model": model, "optimizer": optimizer, "epoch": epoch,
          "rng": chainrule.get_rng_state(), "history": history,
      }, "runs/1/last.safetensors")

  Every Tensor / ndarray in it (a module's weights, the optimizer's moment buffers, an array
  in ``history``) becomes a tensor named by its path: ``model.0.weight``,
  ``optimizer.state.0.exp_avg``, ``history.curve``. Everything else (the epoch, the optimizer
  step counts and param_groups, the RNG state, lists of losses, strings) is stored as JSON in
  the metadata key ``chainrule.contents``. Values may be None, bools, ints, floats
  (including nan and inf), strings, lists, tuples and dicts (keys of any of those scalar
  types) of these, Tensors, ndarrays, Modules, optimizers and other objects with a
  ``state_dict()`` (LR schedulers), whose state dict is stored.

PyTorch's spelling works unchanged with `import chainrule as torch` (still safetensors)::

    chainrule.save(model.state_dict(), "model.pth")
    model.load_state_dict(chainrule.load("model.pth", weights_only=True, map_location="cpu"))
    chainrule.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, p)
    state = chainrule.load(p); opt.load_state_dict(state["optimizer"])

Loading, with what chainrule adds::

    ckpt = chainrule.load("runs/1/last.safetensors")            # a Checkpoint
    model = ckpt.model                 # rebuilt from the config, weights loaded (or None)
    ckpt.state_dict                    # name -> Tensor: the model's weights
    ckpt = chainrule.load(path, model=model)    # load the weights into your model (strict)
    chainrule.checkpoint.restore_optimizer(ckpt, optimizer)   # or:
    optimizer.load_state_dict(ckpt.optimizer_state)
    chainrule.set_rng_state(ckpt.rng_state)
    start_epoch = ckpt.epoch + 1
    ckpt["history"]                    # any other entry, as saved

Saves are atomic (`chainrule.files.atomic_write_bytes`): a crash leaves the previous file
intact. A damaged or foreign file raises `CheckpointError` (a ValueError) naming the file
and what is wrong with it.
"""

from chainrule.checkpoint.format import CheckpointError
from chainrule.checkpoint.loading import Checkpoint, load, restore_optimizer
from chainrule.checkpoint.saving import save
from chainrule.files import atomic_write_bytes, atomic_write_text

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "atomic_write_bytes",
    "atomic_write_text",
    "load",
    "restore_optimizer",
    "save",
]
