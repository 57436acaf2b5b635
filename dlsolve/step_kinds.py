"""The closed list of step kinds: each solver module declares its own in ``STEP_KINDS``.

A step kind is ``"<topic>.<what>"`` (``"conv.output-size"``, ``"backprop.backward"``); the module that
writes steps of that kind declares it with a one-line meaning::

    STEP_KINDS = {
        "conv.output-size": "the output-size formula, substituted, for one spatial dimension",
    }

Tests check that every step a solver writes has a declared kind, and select steps by kind.
"""

from __future__ import annotations

import importlib
import pkgutil

#: The packages whose modules write steps.
STEP_PACKAGES = ("dlsolve.solvers", "dlsolve.grading")


def all_kinds() -> dict[str, str]:
    """Every declared step kind (kind -> meaning), from every module of :data:`STEP_PACKAGES`."""
    kinds: dict[str, str] = {}
    for package_name in STEP_PACKAGES:
        package = importlib.import_module(package_name)
        for module_info in pkgutil.walk_packages(package.__path__, package_name + "."):
            module = importlib.import_module(module_info.name)
            kinds.update(getattr(module, "STEP_KINDS", {}))
    return kinds
