"""Whether a model's output depends on its training mode (``model.train()`` / ``model.eval()``).

Only dropout and normalisation layers that keep running statistics behave differently in the two
modes (``nn.Dropout*``, ``nn.BatchNorm*``, ``nn.InstanceNorm*(track_running_stats=True)``, recurrent
layers and attention with ``dropout > 0``, the ``nn.Transformer*`` layers, ``F.dropout``, code reading
``self.training``). A model dlsolve can see entirely (``torch.nn`` layers, ``Sequential``s of them,
classes of this file built from them) without any of those gives the same outputs in both modes, so
evaluating it without ``model.eval()`` is not a bug: DL030 and DL032 do not fire on it. Anything not
visible (a model from another module, a parameter nobody passes) may depend on the mode.
"""

from __future__ import annotations

import ast

from dlsolve.solvers.train_loop.facts import ModuleFacts
from dlsolve.solvers.train_loop.vocabulary import dotted, last_part, strip_pass_through

#: ``torch.nn`` modules whose forward ignores the training mode.
MODE_FREE = {
    *("Linear", "Bilinear", "LazyLinear", "Identity", "Flatten", "Unflatten", "Embedding", "EmbeddingBag"),
    *(f"{kind}{d}d" for kind in ("Conv", "ConvTranspose", "LazyConv", "LazyConvTranspose") for d in (1, 2, 3)),
    *(
        f"{kind}{d}d"
        for kind in ("MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "LPPool")
        for d in (1, 2, 3)
    ),
    *(
        f"{kind}{d}d"
        for kind in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad")
        for d in (1, 2, 3)
    ),
    *("LayerNorm", "GroupNorm", "LocalResponseNorm", "RMSNorm", "CrossMapLRN2d"),
    *("ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish"),
    *("Sigmoid", "Tanh", "Softmax", "Softmax2d", "LogSoftmax", "Softmin", "Softplus", "Softsign"),
    *("Hardtanh", "Hardswish", "Hardsigmoid", "Hardshrink", "Softshrink", "Tanhshrink", "Threshold", "GLU"),
    *("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle"),
    *("CosineSimilarity", "PairwiseDistance", "ChannelShuffle", "RNNCell", "LSTMCell", "GRUCell"),
}
#: Modules that depend on the mode only with a nonzero ``dropout`` (its position when passed positionally).
DROPOUT_ARGUMENT = {"RNN": 5, "LSTM": 5, "GRU": 5, "MultiheadAttention": 2}
CONTAINERS = {"Sequential", "ModuleList"}
#: ``torch.nn`` modules that always depend on the mode (recognised when imported by name too).
MODE_PREFIXES = ("Dropout", "AlphaDropout", "FeatureAlphaDropout", "BatchNorm", "SyncBatchNorm", "LazyBatchNorm")
MODE_PREFIXES += ("InstanceNorm", "LazyInstanceNorm", "Transformer")


def depends_on_mode(facts: ModuleFacts, func: ast.expr) -> bool:
    """True unless the model called as ``func`` (``model``, ``self.net``, ``model.forward``) is
    visibly free of mode-dependent layers."""
    if isinstance(func, ast.Attribute) and func.attr == "forward":
        func = func.value
    bound = facts.binding(dotted(func), func) if dotted(func) else None
    return bound is None or _built_depends(facts, bound, 0)


def _built_depends(facts: ModuleFacts, node: ast.expr, depth: int) -> bool:
    """True unless the module ``node`` builds (a constructor call) is visibly mode-free."""
    node = strip_pass_through(node)
    if not isinstance(node, ast.Call) or depth > 4:
        return True
    name = dotted(node.func) or ""
    layer = torch_layer(node)
    if name in facts.classes and facts.is_module_class(facts.classes[name]):
        return _class_depends(facts, facts.classes[name], depth + 1)
    if layer is None:
        return True  # another module's model or layer
    if layer in CONTAINERS:
        listed = layer == "ModuleList" and bool(node.args) and isinstance(node.args[0], ast.List)
        if layer == "ModuleList" and not listed:
            return True
        parts = node.args[0].elts if listed else node.args  # type: ignore[attr-defined]
        return any(_built_depends(facts, part, depth + 1) for part in parts)
    return _layer_depends(node, layer)


def torch_layer(call: ast.Call) -> str | None:
    """The ``torch.nn`` module ``call`` constructs (``nn.Linear(...)``, an imported ``Dropout(...)``), or None."""
    name = dotted(call.func) or ""
    layer = last_part(name)
    if name.startswith(("nn.", "torch.nn.")):
        return layer
    known = layer in MODE_FREE or layer in DROPOUT_ARGUMENT or layer in CONTAINERS or layer.startswith(MODE_PREFIXES)
    return layer if name == layer and known else None


def _layer_depends(call: ast.Call, layer: str) -> bool:
    """True unless the ``torch.nn`` layer ``call`` builds ignores the mode."""
    if layer.startswith("InstanceNorm"):
        tracking = next((k.value for k in call.keywords if k.arg == "track_running_stats"), None)
        return not (tracking is None or (isinstance(tracking, ast.Constant) and tracking.value is False))
    if layer in DROPOUT_ARGUMENT:
        return _nonzero_dropout(call, DROPOUT_ARGUMENT[layer])
    return layer not in MODE_FREE and layer not in CONTAINERS


def _nonzero_dropout(call: ast.Call, position: int) -> bool:
    """True unless ``call`` visibly leaves ``dropout`` at 0 (not passed, or a literal 0)."""
    if len(call.args) > position or any(k.arg is None for k in call.keywords):
        return True
    value = next((k.value for k in call.keywords if k.arg == "dropout"), None)
    return value is not None and not (isinstance(value, ast.Constant) and not value.value)


def _class_depends(facts: ModuleFacts, cls: ast.ClassDef, depth: int) -> bool:
    """True unless the ``nn.Module`` class ``cls`` (and its bases of this file) uses no mode-dependent
    layer: each module it builds or calls (``self.x = nn.Linear(...)``, ``self.x(...)``) is mode-free,
    and it calls no functional dropout or batch norm and does not read ``self.training``."""
    assigned: dict[str, list[ast.expr]] = {}
    used: set[str] = set()
    for klass in facts.lineage(cls):
        for base in klass.bases:
            if not (last_part(dotted(base)).endswith("Module") or last_part(dotted(base)) in facts.classes):
                return True  # a base class from another module
        for node in ast.walk(klass):
            if isinstance(node, ast.Attribute) and dotted(node) == "self.training":
                return True
            if not isinstance(node, ast.Assign | ast.Call):
                continue
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if (dotted(target) or "").startswith("self."):
                        assigned.setdefault(dotted(target) or "", []).append(node.value)
                continue
            name = dotted(node.func) or ""
            if "dropout" in last_part(name) or last_part(name) in ("batch_norm", "instance_norm"):
                return True  # F.dropout(x, training=self.training), self.dropout(x)
            layer = torch_layer(node)
            if layer is not None and _layer_depends(node, layer):
                return True  # built anywhere in the class: setattr(self, ..., nn.Dropout()), lists
            if name.startswith("self.") and name.count(".") >= 1:
                used.add(".".join(name.split(".")[:2]))  # self.fc(x), self.lstm.flatten_parameters()
    for attribute, values in assigned.items():
        for value in values:
            if (attribute in used or _builds_module(value)) and _built_depends(facts, value, depth):
                return True
    return any(attribute not in assigned and not _is_method(facts, cls, attribute) for attribute in used)


def _is_method(facts: ModuleFacts, cls: ast.ClassDef, attribute: str) -> bool:
    """True when ``self.name`` is a method of ``cls`` (or a base), or an ``nn.Module`` method."""
    name = attribute.removeprefix("self.")
    return facts.method(cls, name) is not None or name in ("forward", "parameters", "modules", "children")


def _builds_module(value: ast.expr) -> bool:
    """True when ``value`` may build a module: a ``torch.nn`` or class constructor (not ``nn.Parameter``)."""
    value = strip_pass_through(value)
    if not isinstance(value, ast.Call):
        return False
    name = dotted(value.func) or ""
    layer = last_part(name)
    return layer not in ("Parameter", "ParameterList") and (
        name.startswith(("nn.", "torch.nn.")) or layer[:1].isupper()
    )
