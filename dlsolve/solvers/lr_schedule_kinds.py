"""The learning-rate schedules of ``dlsolve lr-schedule KIND`` (one subcommand each), in help order.

A module of its own so that the registry's neighbours (answer checking, named mistakes) can list the
``lr-schedule`` commands without importing the schedules' arithmetic.
"""

KINDS = (
    "step",
    "multistep",
    "exponential",
    "cosine",
    "cosine-warm-restarts",
    "linear",
    "onecycle",
    "inverse-time",
    "warmup-cosine",
)
