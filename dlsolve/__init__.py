"""dlsolve: solve deep-learning exam problems and show the working, step by step.

The solvers are plain functions returning a :class:`~dlsolve.solution.Solution`; they live in
``dlsolve.solvers`` and are imported lazily (``import dlsolve`` stays cheap)::

    from dlsolve.solvers.conv import conv_shape
    solution = conv_shape(size=[28], kernel=[3])
    print(solution.answer)
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
