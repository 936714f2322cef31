"""`import torch` → chainrule, for the script corpus (tests/engine/test_pytorch_scripts.py).

This folder goes first on the child process's sys.path, so a script's unchanged
``import torch``, ``import torch.nn as nn``, ``from torch.utils.data import DataLoader``
get chainrule's modules: every ``torch.X`` import is served by ``chainrule.X`` (the same
module object, so classes are not duplicated). Nothing else about the script changes.
"""

import importlib
import importlib.abc
import importlib.util
import sys


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001, ANN201
        if fullname.startswith("torch."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):  # noqa: ANN001, ANN201
        return importlib.import_module("chainrule" + spec.name[len("torch") :])

    def exec_module(self, module):  # noqa: ANN001, ANN201
        pass


sys.meta_path.insert(0, _Alias())
sys.modules["torch"] = importlib.import_module("chainrule")
