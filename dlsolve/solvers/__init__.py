"""Solvers: pure functions that return a Solution. They never print and never import Typer or Rich."""
