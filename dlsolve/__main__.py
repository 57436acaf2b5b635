"""``python -m dlsolve``."""

from dlsolve.cli import run

run()
