"""Answer checking: a verdict on each of a student's answers, and for a wrong one the named mistake
whose recomputation reproduces it exactly.

- :mod:`dlsolve.grading.compare`: which answer field a student's answer is about, and whether it
  matches (exact values compare exactly; a decimal is right when it rounds the exact value at its
  own precision; float answers within a relative tolerance).
- :mod:`dlsolve.grading.mistakes`: the registry of named mistakes; each command's mistakes live
  beside its solver (``dlsolve/solvers/*_mistakes.py``), each a small documented recomputation.
- :mod:`dlsolve.grading.sheet`: one student's sheet or a whole class, answers files (TOML, CSV),
  the gradebook CSV, and the Solution that the renderers print.
"""
