"""``cost comm`` and ``cost flops``: communication of data-parallel training and training compute.

Communication schemes, for N workers each holding a gradient of S bytes that all must end up with
the sum (an all-reduce):

* ``ring-allreduce``: a reduce-scatter then an all-gather around the ring, N − 1 steps each; in every
  step each worker sends one chunk of S/N bytes to its neighbour. Steps 2(N − 1), messages 2N(N − 1),
  each worker sends (and receives) 2(N − 1)/N · S: nearly 2S, whatever N.
* ``parameter-server``: every worker pushes S to one server and pulls S back. Messages 2N; the server
  receives and sends N·S, which its one link carries one after the other: 2 steps of N·S.
* ``all-to-all``: every worker sends its whole gradient to every other and sums what it gets.
  Messages N(N − 1); each worker sends and receives (N − 1)·S, in one step.
* ``tree``: a binary-tree reduce to the root, then a broadcast back down: 2⌈log₂N⌉ steps, messages
  2(N − 1), each link carries S per step.

Time = steps × latency + (bytes on the busiest link, one step after the other) / bandwidth.

Training compute (Kaplan et al. 2020): a forward pass costs about 2N FLOPs per token (one multiply
and one add per parameter), the backward pass twice that, so training costs about 6·N·D FLOPs for D
tokens and inference 2N per token; time = FLOPs / (GPUs × peak × MFU).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Solution, Step, Table
from dlsolve.solvers.cost import count, scientific, scientific_latex
from dlsolve.solvers.cost import size as with_unit

SCHEMES = ("ring-allreduce", "parameter-server", "all-to-all", "tree")

#: The steps this module writes (see :mod:`dlsolve.step_kinds`).
STEP_KINDS = {
    "cost.comm": "messages, bytes per worker and sequential steps of a communication scheme, and its time",
    "cost.comm-compare": "every scheme side by side for the same workers and size",
    "cost.flops": "training ≈ 6ND and inference ≈ 2N per token, with the derivation",
    "cost.time": "the time the FLOPs take on the given hardware",
}


def scheme_costs(scheme: str, workers: int, size: Fraction) -> dict[str, Any]:
    """Messages, bytes each worker sends and receives, sequential steps, and the busiest link's bytes
    per step, for an all-reduce of ``size`` bytes over ``workers`` workers (module docstring)."""
    n = workers
    if scheme == "ring-allreduce":
        chunk = size / n
        return {
            "messages": 2 * n * (n - 1),
            "bytes_sent_per_worker": 2 * (n - 1) * chunk,
            "bytes_received_per_worker": 2 * (n - 1) * chunk,
            "steps": 2 * (n - 1),
            "step_bytes": chunk,
        }
    if scheme == "parameter-server":
        return {
            "messages": 2 * n,
            "bytes_sent_per_worker": size,
            "bytes_received_per_worker": size,
            "steps": 2,
            "step_bytes": n * size,
            "server_bytes": 2 * n * size,
        }
    if scheme == "all-to-all":
        return {
            "messages": n * (n - 1),
            "bytes_sent_per_worker": (n - 1) * size,
            "bytes_received_per_worker": (n - 1) * size,
            "steps": 1,
            "step_bytes": (n - 1) * size,
        }
    depth = math.ceil(math.log2(n)) if n > 1 else 0
    return {
        "messages": 2 * (n - 1),
        "bytes_sent_per_worker": size,
        "bytes_received_per_worker": size,
        "steps": 2 * depth,
        "step_bytes": 2 * size,
    }


def _short_size(size: Fraction) -> tuple[str, str]:
    """S as a board substitutes it: ``1 GB`` (its unit when it has one, else ``512 bytes``), and in LaTeX."""
    text = with_unit(size)
    short = text.partition("(")[2].rstrip(")") or text
    number, _, unit = short.partition(" ")
    return short, rf"{number.replace(',', '{,}')}\text{{ {unit}}}"


def _size_latex(size: Fraction | int) -> str:
    """``1{,}750{,}000{,}000 \\text{ bytes (1.75 GB)}``: :func:`cost.size` typeset."""
    number, _, rest = with_unit(size).partition(" ")
    return rf"{number.replace(',', '{,}')} \text{{ {rest}}}"


def _json(value: Any) -> Any:
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


def comm(
    *,
    workers: int,
    size: Fraction,
    scheme: str = "ring-allreduce",
    bandwidth: Fraction | None = None,
    latency: Fraction | None = None,
) -> Solution:
    """The cost of one all-reduce of ``size`` bytes over ``workers`` workers (module docstring);
    with ``bandwidth`` (bytes/s) and ``latency`` (s) its time."""
    if workers < 2:
        raise BadInput(f"expected at least 2 workers, got {workers}", option="--workers")
    if size <= 0:
        raise BadInput(f"expected a positive size in bytes, got {fmt.number(size)}", option="--size")
    costs = scheme_costs(scheme, workers, size)
    seconds = None
    if bandwidth is not None:
        seconds = costs["steps"] * (latency or 0) + costs["steps"] * costs["step_bytes"] / bandwidth
        if scheme == "all-to-all":
            seconds = (latency or 0) + costs["step_bytes"] / bandwidth
    answer = {key: _json(value) for key, value in costs.items() if key != "step_bytes"}
    answer["scheme"] = scheme
    answer["seconds"] = None if seconds is None else float(seconds)
    rows = []
    for other in SCHEMES:
        other_costs = scheme_costs(other, workers, size)
        rows.append(
            [
                other,
                str(other_costs["messages"]),
                count(other_costs["bytes_sent_per_worker"]),
                str(other_costs["steps"]),
            ]
        )
    n, sent = workers, with_unit(costs["bytes_sent_per_worker"])
    depth = costs["steps"] // 2
    s_short, s_latex = _short_size(size)
    steps_n, messages_n = str(costs["steps"]), str(costs["messages"])
    # (name, formula, its LaTeX, substitution, its LaTeX, result, its LaTeX): written once as text and
    # once as the display, in the same words
    ring, server, everyone, tree = "ring-allreduce", "parameter-server", "all-to-all", "tree"
    equations: dict[str, list[tuple[str, str, str, str, str, str, str]]] = {
        ring: [
            ("steps", "2(N − 1)", "2(N-1)", f"2·{n - 1}", rf"2 \cdot {n - 1}", steps_n, steps_n),
            ("messages", "2N(N − 1)", "2N(N-1)", f"2·{n}·{n - 1}", rf"2 \cdot {n} \cdot {n - 1}", messages_n,
             messages_n),
            ("sent per worker", "2(N − 1)/N · S", r"\frac{2(N-1)}{N} S", f"2·{n - 1}/{n} · {s_short}",
             rf"\frac{{2 \cdot {n - 1}}}{{{n}}} \cdot {s_latex}", sent, _size_latex(costs["bytes_sent_per_worker"])),
        ],
        server: [
            ("messages", "2N", "2N", f"2·{n}", rf"2 \cdot {n}", messages_n, messages_n),
            ("sent per worker", "S", "S", "", "", sent, _size_latex(size)),
            ("server link", "2N·S", r"2N \cdot S", f"2·{n} · {s_short}", rf"2 \cdot {n} \cdot {s_latex}",
             with_unit(costs.get("server_bytes", 0)), _size_latex(costs.get("server_bytes", 0))),
        ],
        everyone: [
            ("messages", "N(N − 1)", "N(N-1)", f"{n}·{n - 1}", rf"{n} \cdot {n - 1}", messages_n, messages_n),
            ("sent per worker", "(N − 1)·S", r"(N-1) \cdot S", f"{n - 1} · {s_short}", rf"{n - 1} \cdot {s_latex}",
             sent, _size_latex(costs["bytes_sent_per_worker"])),
        ],
        tree: [
            ("steps", "2⌈log₂N⌉", r"2\lceil \log_2 N \rceil", f"2·{depth}", rf"2 \cdot {depth}", steps_n, steps_n),
            ("messages", "2(N − 1)", "2(N-1)", f"2·{n - 1}", rf"2 \cdot {n - 1}", messages_n, messages_n),
            ("sent per worker", "S", "S", "", "", sent, _size_latex(size)),
        ],
    }  # fmt: skip
    asides = {
        ring: "each of the 2(N − 1) steps moves a chunk S/N; each worker receives as much as it sends",
        server: "one push and one pull per worker, in 2 steps; the server's link carries N·S each way",
        everyone: "in one step; each worker receives as much as it sends",
        tree: "a reduce up a binary tree, then a broadcast down",
    }

    def working() -> list[Step]:
        lines, latex = [], []
        for name, formula, formula_latex, values, values_latex, result, result_latex in equations[scheme]:
            lines.append(" = ".join(part for part in (name, formula, values, result) if part))
            latex.append(
                rf"\text{{{name}}} &= "
                + " = ".join(part for part in (formula_latex, values_latex, result_latex) if part)
            )
        text = f"N = {workers} workers, S = {with_unit(size)}, {scheme}: {asides[scheme]}\n" + "\n".join(lines)
        if seconds is not None:
            steps = 1 if scheme == "all-to-all" else costs["steps"]
            text += (
                f"\ntime = steps × latency + steps × bytes per step / bandwidth = {steps} × "
                f"{scientific(latency or 0)} s + {steps} × {count(costs['step_bytes'])} bytes / "
                f"{scientific(bandwidth)} bytes/s = {fmt.decimal(float(seconds))} s"  # type: ignore[arg-type]
            )
        display = r"\begin{aligned} " + r" \\ ".join(latex) + r" \end{aligned}"
        return [
            Step(scheme, text, display, kind="cost.comm"),
            Step(
                "All schemes compared",
                "The ring's bytes per worker do not grow with N; the parameter server's link does.",
                blocks=[Table(["scheme", "messages", "bytes sent per worker", "steps"], rows)],
                kind="cost.comm-compare",
            ),
        ]

    return Solution(
        command="cost comm",
        inputs={"workers": workers, "size": fmt.number(size), "scheme": scheme},
        answer=answer,
        summary=f"{scheme}: {costs['messages']} messages, {sent} sent per worker, {costs['steps']} "
        f"step{'s' if costs['steps'] != 1 else ''}"
        + (f"; the server's link carries {with_unit(costs['server_bytes'])}" if "server_bytes" in costs else "")
        + (f", {fmt.decimal(float(seconds))} s" if seconds is not None else ""),
        quiet=f"messages {costs['messages']}; bytes per worker {fmt.number(costs['bytes_sent_per_worker'])}; "
        f"steps {costs['steps']}"
        + (f"; server link bytes {fmt.number(costs['server_bytes'])}" if "server_bytes" in costs else "")
        + (f"; {fmt.decimal(float(seconds))} s" if seconds is not None else ""),
        steps=working,
    )


def flops(
    *,
    params: Fraction,
    tokens: Fraction | None = None,
    peak_tflops: Fraction | None = None,
    mfu: Fraction | None = None,
    gpus: int = 1,
) -> Solution:
    """Training FLOPs ≈ 6·N·D (forward 2N and backward 4N per token), inference 2N per token, and
    with the hardware the time: FLOPs / (GPUs × peak × MFU)."""
    if params <= 0:
        raise BadInput(f"expected a positive parameter count, got {fmt.number(params)}", option="--params")
    if tokens is not None and tokens <= 0:
        raise BadInput(f"expected a positive number of tokens, got {fmt.number(tokens)}", option="--tokens")
    if mfu is not None and not 0 < mfu <= 1:
        raise BadInput(f"expected 0 < MFU <= 1, got {fmt.number(mfu)}", option="--mfu")
    if gpus < 1:
        raise BadInput(f"expected at least one GPU, got {gpus}", option="--gpus")
    training = 6 * params * tokens if tokens is not None else None
    seconds = None
    if training is not None and peak_tflops is not None:
        seconds = training / (gpus * peak_tflops * 10**12 * (mfu if mfu is not None else 1))
    answer = {
        "flops_per_token_forward": _json(2 * params),
        "flops_per_token_training": _json(6 * params),
        "flops": _json(training) if training is not None else None,
        "inference_flops_per_token": _json(2 * params),
        "seconds": None if seconds is None else float(seconds),
        "days": None if seconds is None else float(seconds) / 86400,
    }

    def working() -> list[Step]:
        steps = [
            Step(
                "FLOPs ≈ 6ND",
                f"forward: one multiply and one add per parameter per token, 2N = {scientific(2 * params)} FLOPs "
                "per token (inference costs the same)\n"
                "backward: twice the forward (gradients for the activations and for the weights), 4N\n"
                + (
                    f"C_train ≈ 6ND = 6 · {scientific(params)} · {scientific(tokens)} = {scientific(training)} FLOPs"
                    if training is not None and tokens is not None
                    else f"C_train ≈ 6N = {scientific(6 * params)} FLOPs per token"
                ),
                latex=(
                    rf"C_{{\text{{train}}}} \approx 6ND = 6 \cdot {scientific_latex(params)} \cdot "
                    rf"{scientific_latex(tokens)} = {scientific_latex(training)} \text{{ FLOPs}}"
                    if training is not None and tokens is not None
                    else rf"C_{{\text{{train}}}} \approx 6N = {scientific_latex(6 * params)} \text{{ FLOPs per token}}"
                ),
                kind="cost.flops",
            )
        ]
        if seconds is not None:
            steps.append(
                Step(
                    "Time",
                    f"{scientific(training)} / ({gpus} × {fmt.number(peak_tflops)}·10¹² × "  # type: ignore[arg-type]
                    f"{fmt.number(mfu if mfu is not None else 1)}) = {fmt.decimal(float(seconds))} s = "
                    f"{fmt.decimal(float(seconds) / 86400)} days.",
                    latex=r"t = \frac{6ND}{g \cdot P \cdot \text{MFU}}",
                    kind="cost.time",
                )
            )
        return steps

    shown = f"{scientific(training)} FLOPs" if training is not None else f"{scientific(6 * params)} FLOPs per token"
    quiet_shown = (
        fmt.decimal(float(training)) if training is not None else fmt.decimal(float(6 * params)) + " per token"
    )
    return Solution(
        command="cost flops",
        inputs={"params": fmt.number(params), "tokens": None if tokens is None else fmt.number(tokens), "gpus": gpus},
        answer=answer,
        summary=f"training ≈ {shown}" + (f", {fmt.decimal(float(seconds) / 86400)} days" if seconds else ""),
        quiet=f"flops {quiet_shown}" + (f"; {fmt.decimal(float(seconds))} s" if seconds is not None else ""),
        steps=working,
    )


#: What ``cost flops --net`` counts, in one line (the working's and the answer's ``convention``).
CONVENTION = (
    "MACs of the forward pass's matrix products and convolutions, as torch.utils.flop_counter counts them "
    "(its FLOPs / 2); elementwise work (bias adds, norms, activations, softmax) and table lookups left out"
)

_RECURRENT = ("RNN", "LSTM", "GRU")
_ATTENTION = ("MultiheadAttention", "Transformer")
_ENCODER = "4·N·L·d² + 2·N·L²·d + 2·N·L·d·d_ff"
_DECODER = "8·N·L·d² + 4·N·L²·d + 2·N·L·d·d_ff"
_TERMS = "the Q, K, V and output projections; QKᵀ and AV; the feed-forward"
_DECODER_TERMS = "self- and cross-attention, then the feed-forward"

#: Each counted kind of layer's product in symbols (N batch, L sequence length, S keys, E or d width),
#: and what its terms are.
RULES = {
    "Conv": ("N·∏out·weights", "each weight once per batch item and output position"),
    "ConvTranspose": ("N·∏in·weights", "each weight once per batch item and input position"),
    "Linear": ("positions·in·out", "every position of the leading axes"),
    "RNN": ("L·N·weights", "every step, direction and layer"),
    "MultiheadAttention": ("4·N·L·E² + 2·N·L·S·E", "the Q, K, V and output projections; QKᵀ and AV"),
    "TransformerEncoderLayer": (_ENCODER, _TERMS),
    "TransformerEncoder": (f"layers·({_ENCODER})", _TERMS),
    "TransformerDecoderLayer": (_DECODER, _DECODER_TERMS),
    "TransformerDecoder": (f"layers·({_DECODER})", _DECODER_TERMS),
    "Transformer": (f"encoders·({_ENCODER}) + decoders·({_DECODER})", "encoder and decoder layers"),
}


def _rule(name: str) -> tuple[str, str]:
    for prefix in ("ConvTranspose", "Conv"):
        if name.startswith(prefix):
            return RULES[prefix]
    return RULES["RNN"] if name in _RECURRENT else RULES[name]


_QKT = "$QK^\\top$"


def _tex(formula: str) -> str:
    """A product as this module writes it (``4·N·L·d² + 2·8·128²·64``, ``N·∏out·weights``) typeset."""
    text = formula.replace("d_ff", "d_{@}").replace(",", "{,}").replace("²", "^2").replace("ᵀ", "^\\top")
    text = re.sub(r"[A-Za-z]{2,}", lambda m: f"\\text{{{m.group(0)}}}", text)
    return text.replace("·", "\\cdot ").replace("∏", "\\prod ").replace("@", "\\text{ff}")


def _torchinfo_differs(rows: list[Any]) -> str:
    """Why torchinfo's Mult-Adds differ from the compute MACs, for the layers where they do (after "it ")."""
    reasons: dict[str, None] = {}
    for row in rows:
        if row.macs == row.compute_macs:
            continue
        name = row.layer.split("(")[0]
        if name.startswith(_ATTENTION):
            reasons["leaves out attention's projections, QKᵀ and AV"] = None
        elif name == "Linear" and len(row.shape) != 2:
            reasons["counts a Linear once per item of the first axis, not per position"] = None
        elif name in _RECURRENT and len(row.shape) == 2:
            reasons["multiplies an unbatched recurrent layer by L and its output features"] = None
        elif name == "Linear" or name in _RECURRENT or "Conv" in name:
            reasons["counts the bias adds"] = None
        elif name.startswith("Embedding"):
            reasons["counts an embedding's whole table once per batch item, for a lookup"] = None
        elif "Norm" in name:
            reasons["counts a norm's scale and shift once per item of the first axis"] = None
        else:
            reasons[f"counts {name}'s parameters once per item of the first axis"] = None
    return "; ".join(reasons)


def network_flops(
    *,
    net: list[Any],
    input_shape: list[int],
    steps: int = 1,
    peak_tflops: Fraction | None = None,
    mfu: Fraction | None = None,
    gpus: int = 1,
) -> Solution:
    """The exact alternative to 6ND for a network: the multiply-accumulates its forward pass performs per
    batch, layer by layer, as ``torch.utils.flop_counter.FlopCounterMode`` counts them (:data:`CONVENTION`:
    matrix products and convolutions; a Linear once per position, every step of a recurrent layer,
    attention's projections and QKᵀ, AV; an embedding's lookup 0). A forward pass costs 2·MACs FLOPs,
    the backward pass about twice that (gradients for the inputs and for the weights), so a training
    step costs about 6·MACs FLOPs, and ``steps`` steps that many times more. The answer also gives
    torchinfo's Mult-Adds (what ``conv-shape --net`` shows), which count a Linear once per batch item
    and leave attention out."""
    from dlsolve.solvers import layers_keras
    from dlsolve.solvers.layers import trace_layers

    if steps < 1:
        raise BadInput(f"expected at least one step, got {steps}", option="--steps")
    if layers_keras.detect(net) == "keras":
        raise BadInput("this network's MACs are not counted (Keras layers): give --params and --tokens", option="--net")
    rows, _ = trace_layers(input_shape, net)
    macs = sum(row.compute_macs for row in rows)
    torchinfo = sum(row.macs for row in rows)
    forward_flops, per_step = 2 * macs, 6 * macs
    training = per_step * steps
    seconds = None
    if peak_tflops is not None:
        seconds = training / (gpus * peak_tflops * 10**12 * (mfu if mfu is not None else 1))
    table = [[f"{i}. {row.layer}", f"{row.compute_macs:,}"] for i, row in enumerate(rows, 1)]
    table.append(["Total", f"{macs:,}"])
    # one worked product per kind of layer (its first), the table has them all
    kinds: dict[str, Any] = {}
    for row in rows:
        if row.compute_macs:
            kinds.setdefault(row.layer.split("(")[0], row)
    products, displays = [], []
    for name, row in kinds.items():
        formula, terms = _rule(name)
        products.append(f"{name}: {formula} = {row.compute_formula} = {row.compute_macs:,} ({terms})")
        displays.append(
            f"\\text{{{name}}} = {_tex(formula)} = {_tex(row.compute_formula)} = {_tex(f'{row.compute_macs:,}')}"
            f"\\quad\\text{{({terms.replace('QKᵀ', _QKT)})}}"
        )
    displays.append(
        f"\\text{{total}} = {_tex(f'{macs:,}')}\\ \\text{{multiply-accumulates per batch of }} {fmt.shape(input_shape)}"
    )
    differs = _torchinfo_differs(rows) if torchinfo != macs else ""

    def working() -> list[Step]:
        lines = [
            f"Counted: {CONVENTION}",
            *products,
            f"total {macs:,} multiply-accumulates per batch of {fmt.shape(input_shape)}",
        ]
        if differs:
            lines.append(f"torchinfo's Mult-Adds for this network: {torchinfo:,} (it {differs})")
        worked = [
            Step(
                "MACs per layer",
                "\n".join(lines),
                " \\\\ ".join(displays),
                blocks=[Table(["layer", "MACs"], table)],
                kind="cost.flops",
            ),
            Step(
                "FLOPs of a training step ≈ 6 · MACs",
                f"forward 2 · {macs:,} = {forward_flops:,} FLOPs; backward about twice the forward; a training "
                f"step ≈ 6 · MACs = {per_step:,} FLOPs; × {steps} step(s) = {training:,} FLOPs.",
                latex=r"C_{\text{step}} \approx 2\,\text{MACs} + 4\,\text{MACs} = 6\,\text{MACs}",
                kind="cost.flops",
            ),
        ]
        if seconds is not None:
            worked.append(
                Step(
                    "Time",
                    f"{training:,} / ({gpus} × {fmt.number(peak_tflops)}·10¹² × "  # type: ignore[arg-type]
                    f"{fmt.number(mfu if mfu is not None else 1)}) = {fmt.decimal(float(seconds))} s.",
                    kind="cost.time",
                )
            )
        return worked

    return Solution(
        command="cost flops",
        inputs={"input": input_shape, "layers": len(net), "steps": steps},
        answer={
            "macs": macs,
            "forward_flops": forward_flops,
            "flops_per_step": per_step,
            "flops": training,
            "seconds": None if seconds is None else float(seconds),
            "torchinfo_macs": torchinfo,
            "convention": CONVENTION,
            "layers": [{"layer": row.layer, "macs": row.compute_macs, "torchinfo_macs": row.macs} for row in rows],
        },
        summary=f"{macs:,} MACs per batch; training ≈ {training:,} FLOPs",
        quiet=f"macs {macs}; flops {training}",
        steps=working,
    )
