"""The vocabulary of ``train-loop``: what names, calls and constructors mean in PyTorch training code.

Losses (``nn.*Loss``, their functional forms), optimizers, schedulers, models, loaders, inputs and
targets are recognised by constructor first and by conventional name second (``criterion``,
``optimizer``, ``model``, ``(inputs, targets)``); plus the small AST helpers every other module uses.
"""

from __future__ import annotations

import ast
import re
from typing import Any

LOSS_FUNCTIONS = {
    "cross_entropy": "CrossEntropyLoss",
    "nll_loss": "NLLLoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
    "binary_cross_entropy": "BCELoss",
    "mse_loss": "MSELoss",
    "l1_loss": "L1Loss",
    "smooth_l1_loss": "SmoothL1Loss",
    "huber_loss": "HuberLoss",
    "kl_div": "KLDivLoss",
    "cosine_embedding_loss": "CosineEmbeddingLoss",
    "margin_ranking_loss": "MarginRankingLoss",
    "multi_margin_loss": "MultiMarginLoss",
    "poisson_nll_loss": "PoissonNLLLoss",
    "gaussian_nll_loss": "GaussianNLLLoss",
}
#: The loss that takes raw logits for one that needs log-probabilities / probabilities. Their
#: constructors and functional forms take the same arguments in the same order (plus one more at
#: the end), and on logits they compute exactly ``NLLLoss(log_softmax)`` / ``BCELoss(sigmoid)``.
LOGITS_LOSS = {
    "NLLLoss": "CrossEntropyLoss",
    "BCELoss": "BCEWithLogitsLoss",
    "nll_loss": "cross_entropy",
    "binary_cross_entropy": "binary_cross_entropy_with_logits",
}
FUNCTIONAL_MODULES = {"F", "functional", "torch.nn.functional", "nn.functional", "torch"}
LOSS_NAME = re.compile(r"^(criterion|crit|loss_?fn|loss_?func(tion)?|lossfunc|loss_f|objective|loss_?module)\w*$", re.I)
OPTIMIZER_NAME = re.compile(r"(^|_)(opt|optim|optimizer|optimiser)(_|$|\d)|^opt[a-z]?$", re.I)
SCHEDULER_NAME = re.compile(r"sched", re.I)
SCALER_NAME = re.compile(r"scaler", re.I)
#: Objects whose ``.backward(loss)`` differentiates the argument (Accelerate, Lightning Fabric).
BACKWARD_HELPER_NAME = re.compile(r"accelerat|fabric", re.I)
MODEL_NAME = re.compile(
    r"^(model|net|network|classifier|encoder|decoder|backbone|cnn|mlp|generator|discriminator|"
    r"student|teacher|ddp_model)\w*$|_(model|net)$",
    re.I,
)
TARGET_NAME = re.compile(
    r"^(y|yb|y_?true|y_?batch|y_?train|y_?test|y_?val|labels?|targets?|tgts?|lbls?|gt|ground_?truth|"
    r"true_?labels?|batch_?labels?|batch_?targets?|\w+_labels?|\w+_targets?)$",
    re.I,
)
PRED_NAME = re.compile(
    r"^(preds?|predictions?|predicted|outputs?|out|logits|y_?hat|yhat|y_?pred|scores|y_?logits)$", re.I
)
LOADER_NAME = re.compile(r"loader|(^|_)dl($|_)|batches|data|dataset|iter|train|test|val|valid|eval|dev(?!ice)", re.I)
EVAL_NAME = re.compile(r"test|val|valid|eval|dev(?!ice)|infer|predict|score|accuracy", re.I)
#: Held-out data: ``x_val``, ``X_test``, ``val_images``, ``test_data``, ``xtest``.
HELD_OUT_NAME = re.compile(
    r"(^|_)(val|valid|validation|test|testing|eval|dev|holdout)(_|\d|$|set|data|images?|inputs?|x)|^x_?(val|test)", re.I
)
PASS_THROUGH = {
    "to",
    "cuda",
    "cpu",
    "float",
    "double",
    "half",
    "long",
    "int",
    "bfloat16",
    "view",
    "reshape",
    "squeeze",
    "unsqueeze",
    "flatten",
    "contiguous",
    "type",
    "clone",
    "permute",
    "transpose",
    "view_as",
    "reshape_as",
    "requires_grad_",
    "type_as",
    "pin_memory",
}
#: Names of batch objects whose ``.x``/``.y`` are inputs/targets (PyTorch Geometric style).
BATCH_NAMES = {"batch", "data", "sample", "graph", "minibatch"}
TARGET_KEYS = {"label", "labels", "target", "targets", "y", "tgt", "class", "classes"}
INPUT_KEYS = {"input", "inputs", "x", "image", "images", "img", "imgs", "data", "input_ids", "pixel_values"}
MODEL_WRAPPERS = {"DataParallel", "DistributedDataParallel", "compile"}
GRAD_OFF = {"no_grad", "inference_mode"}
#: Kinds of value that are network outputs (activation known or not).
PRED_KINDS = {"pred", "logits", "softmax", "logsoftmax", "sigmoid"}

OPTIMIZERS = {
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "LBFGS",
    "ASGD",
    "Rprop",
    "SparseAdam",
}
#: ``torch.nn`` layers imported by name (``from torch.nn import Linear``).
TORCH_LAYERS = {"Linear", "Bilinear", "LazyLinear", "Conv1d", "Conv2d", "Conv3d", "Sequential", "Embedding"}
ACTIVATION_MODULES = {"Softmax": "softmax", "LogSoftmax": "logsoftmax", "Sigmoid": "sigmoid"}
ACTIVATION_CALLS = {"softmax": "softmax", "log_softmax": "logsoftmax", "sigmoid": "sigmoid"}

# Event kinds of the linearised loop bodies.
ZERO_GRAD, BACKWARD, STEP, SCHED, EVAL, TRAIN = "zero_grad", "backward", "step", "sched", "eval", "train"


def dotted(node: ast.AST | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def last_part(name: str | None) -> str:
    return name.rsplit(".", 1)[-1] if name else ""


def strip_pass_through(node: ast.expr) -> ast.expr:
    """``Net().to(device)`` -> ``Net()``; ``nn.DataParallel(Net())`` -> ``Net()``."""
    while isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in PASS_THROUGH:
            node = func.value
        elif last_part(dotted(func)) in MODEL_WRAPPERS and node.args:
            node = node.args[0]
        else:
            break
    return node


def binding_kind(call: ast.Call) -> tuple[str, str]:
    """What makes two bound objects the same for the rules: the constructor, and for a
    ``Sequential`` the constructor of its last layer (``nn.Softmax`` or not)."""
    constructor = dotted(call.func) or ""
    last = strip_pass_through(call.args[-1]) if call.args and last_part(constructor) == "Sequential" else None
    return constructor, (dotted(last.func) or "") if isinstance(last, ast.Call) else ""


def assigned_names(node: ast.AST) -> set[str]:
    """The dotted names an assignment, augmented or annotated assignment or ``for`` binds."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor):
        targets = [node.target]
    else:
        return set()
    return {name for target in targets for e in ast.walk(target) if (name := dotted(e)) is not None}


def is_literal(node: ast.expr) -> bool:
    """A number, string, bool or None literal, possibly negated (``-1``)."""
    return isinstance(node.operand if isinstance(node, ast.UnaryOp) else node, ast.Constant)


def handler_bodies(items: list[Any]) -> list[ast.stmt]:
    return [s for handler in items if isinstance(handler, ast.ExceptHandler) for s in handler.body]


def grad_switch(node: ast.expr) -> bool | None:
    """False for ``torch.no_grad()``/``inference_mode()``/``set_grad_enabled(False)``, True for
    ``enable_grad()``/``set_grad_enabled(True)``, None for anything else (``inference_mode(False)``)."""
    name = last_part(dotted(node.func) if isinstance(node, ast.Call) else dotted(node))
    values = [*node.args, *(k.value for k in node.keywords if k.arg == "mode")] if isinstance(node, ast.Call) else []
    literal = values[0].value if values and isinstance(values[0], ast.Constant) else None
    if name in GRAD_OFF:
        return None if literal is False else False
    if name == "enable_grad":
        return True
    if name == "set_grad_enabled" and isinstance(literal, bool):
        return literal
    return None


def is_module(cls: ast.ClassDef) -> bool:
    """A class that looks like an ``nn.Module``: a ``forward`` method or a base named ``*Module``."""
    has_forward = any(isinstance(n, ast.FunctionDef) and n.name == "forward" for n in cls.body)
    return has_forward or any(last_part(dotted(base)).endswith("Module") for base in cls.bases)


def train_mode(call: ast.Call) -> bool | None:
    """``m.train()``/``m.train(True)`` -> True, ``m.train(False)`` -> False, other -> None."""
    values = [*call.args, *(k.value for k in call.keywords if k.arg == "mode")]
    if not values:
        return True
    if isinstance(values[0], ast.Constant) and isinstance(values[0].value, bool):
        return values[0].value
    return None


def sets_grad_none(statement: ast.Assign) -> bool:
    return (
        isinstance(statement.value, ast.Constant)
        and statement.value.value is None
        and any(isinstance(t, ast.Attribute) and t.attr == "grad" for t in statement.targets)
    )
