"""Forward and backward pass through a computational graph, by hand (``dlsolve backprop``).

f is parsed into a graph with one node per operation (:mod:`dlsolve.engine`); the forward pass gives
every node's value; the backward pass (reverse-mode differentiation) visits the nodes in reverse
topological order: each node's upstream gradient ∂f/∂u times its local derivative ∂u/∂a is what it
sends to its argument a, and a node that feeds several consumers adds what they send ("gradients add
at forks"). Broadcast arguments receive the sum over the broadcast dimensions.

Conventions are PyTorch's autograd (float64): relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope,
max/min split the gradient equally on ties; f must hold one element (``backward()``'s rule).
Exact inputs give exact values (Fractions; exp, log, sqrt, sigmoid, tanh kept symbolic with a
decimal beside) unless they grow too large; float64 otherwise. Names without a value: the
derivatives as formulas (symbolic mode, scalar expressions only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dlsolve.errors import BadInput
from dlsolve.solution import Solution, Step, Table

STEP_KINDS = {
    "backprop.graph": "the computational graph: one node per operation, with the shapes of matrix nodes",
    "backprop.forward": "the forward pass: each node's operation and value, in topological order",
    "backprop.backward": "the backward pass in reverse topological order: upstream × local derivative = gradient",
    "backprop.fork": "where a node feeds several consumers, the gradients they send add",
    "backprop.kink": "an argument at a kink, with the derivative PyTorch's autograd uses there",
    "backprop.gradients": "the gradients asked for, ∂f/∂name for each name",
    "backprop.check": "the gradients against central finite differences (relative error per name)",
    "backprop.symbolic": "the derivatives as formulas, for names without a value",
}

#: Exact arithmetic only up to this many input entries (larger inputs use float64).
EXACT_ENTRIES = 400
#: In tables, a SymPy value longer than this many characters is shown by its decimal only.
TABLE_EXACT = 20
#: Finite differences look at most this many entries of each name (evenly spaced).
CHECK_ENTRIES = 200
#: A relative error above this in the finite-difference check is reported as a warning.
CHECK_TOLERANCE = 1e-5


def solve_backprop(
    f: str,
    values: Mapping[str, Any],
    wrt: Sequence[str] | None = None,
    *,
    check: bool = False,
    exact: bool | None = None,
) -> Solution:
    """f's value and its gradients at ``values`` (name -> NumPy array, from ``parsing.parse_assignments``).

    ``wrt``: the names whose gradients are reported (default: every name with a value, except class
    indices of cross_entropy). ``exact``: None chooses (exact when every input is exact and small),
    False forces float64. ``check`` adds central finite differences.
    """
    from dlsolve.engine import parse_expression

    graph = parse_expression(f)
    unused = [name for name in values if name not in graph.names]
    if unused:
        raise BadInput(f"{', '.join(unused)} does not appear in f = {graph.text}", option="--at")
    if wrt is not None:
        unknown = [name for name in wrt if name not in graph.names]
        if unknown:
            raise BadInput(f"{', '.join(unknown)} does not appear in f = {graph.text}", option="--wrt")
        if len(set(wrt)) != len(wrt):
            raise BadInput("a name is listed twice", option="--wrt")
    if any(name not in values for name in graph.names):
        return _symbolic(graph, values, wrt)
    return _numeric(graph, values, wrt, check=check, exact=exact)


# --------------------------------------------------------------------------- numeric mode


def _is_exact(values: Mapping[str, Any]) -> bool:
    entries = sum(int(getattr(v, "size", 1)) for v in values.values())
    return entries <= EXACT_ENTRIES and all(
        getattr(v, "dtype", None) is not None and v.dtype.kind == "O" for v in values.values()
    )


def _numeric(
    graph: Any, values: Mapping[str, Any], wrt: Sequence[str] | None, *, check: bool, exact: bool | None
) -> Solution:
    from dlsolve.engine import ExactTooLarge, backward, check_scalar, forward

    warnings: list[str] = []
    use_exact = _is_exact(values) if exact is None else exact and _is_exact(values)
    fw = None
    if use_exact:
        try:
            fw = forward(graph, values, exact=True)
            check_scalar(fw)
            names = _wrt(fw, wrt)
            bw = backward(fw, names)
        except ExactTooLarge:
            warnings.append("the exact values grow too large to show; computed in float64 instead")
            fw = None
    if fw is None or not fw.exact:
        fw = forward(graph, values, exact=False)
        check_scalar(fw)
        names = _wrt(fw, wrt)
        bw = backward(fw, names)
    for index, note in fw.kinks:
        if _reaches(bw, index):
            warnings.append(f"{graph.labels[index]} = {graph.nodes[index].source}: {note}")
    checked = _finite_differences(graph, fw, bw, names) if check else None
    if checked:
        worst = max(checked.values())
        if worst > CHECK_TOLERANCE:
            warnings.append(
                f"finite differences differ from the gradient by up to {worst:.2g} (relative); expected near a kink"
            )
    return _numeric_solution(graph, fw, bw, names, checked, warnings)


def _wrt(fw: Any, wrt: Sequence[str] | None) -> list[str]:
    blocked = fw.nondifferentiable()
    if wrt is None:
        return [name for name in fw.graph.names if name not in blocked]
    refused = [name for name in wrt if name in blocked]
    if refused:
        raise BadInput(
            f"{', '.join(refused)} holds class indices of cross_entropy: integer targets have no "
            "gradient (PyTorch: only floating point tensors can require gradients)",
            option="--wrt",
        )
    return list(wrt)


def _reaches(bw: Any, index: int) -> bool:
    return bw.node_grads[index] is not None


def _finite_differences(graph: Any, fw: Any, bw: Any, names: list[str]) -> dict[str, float]:
    """Relative error max|fd − g| / max(|g|, |fd|, 1e-12) per name; central differences, h = 1e-6·max(1, |x|)."""
    import numpy as np

    from dlsolve.engine import value_and_grad
    from dlsolve.engine.notation import to_float

    evaluate = value_and_grad(graph, [])
    point = {
        name: np.vectorize(to_float, otypes=[float])(fw.values[graph.var_index(name)])
        if fw.exact
        else np.asarray(fw.values[graph.var_index(name)], dtype=float)
        for name in graph.names
    }
    errors = {}
    for name in names:
        grad = np.vectorize(to_float, otypes=[float])(bw.grads[name]) if fw.exact else bw.grads[name]
        base = point[name]
        positions = np.linspace(0, base.size - 1, min(base.size, CHECK_ENTRIES)).round().astype(int)
        worst, scale = 0.0, 1e-12
        for position in np.unique(positions):
            h = 1e-6 * max(1.0, abs(float(base.flat[position])))
            shifted = []
            for sign in (1, -1):
                moved = base.copy()
                moved.flat[position] += sign * h
                shifted.append(evaluate({**point, name: moved})[0])
            estimate = (shifted[0] - shifted[1]) / (2 * h)
            exact_value = float(np.asarray(grad).flat[position])
            worst = max(worst, abs(estimate - exact_value))
            scale = max(scale, abs(exact_value), abs(estimate))
        errors[name] = worst / scale
    return errors


def _json_values(array: Any) -> Any:
    from dlsolve.engine.notation import json_number, json_value

    return json_value(array, json_number)


def _numeric_solution(
    graph: Any, fw: Any, bw: Any, names: list[str], checked: dict[str, float] | None, warnings: list[str]
) -> Solution:
    from dlsolve.engine.notation import exact_string, json_value, value_text

    answer: dict[str, Any] = {
        "value": _json_values(fw.value),
        "grad": {name: _json_values(bw.grads[name]) for name in names},
        "exact": {name: json_value(bw.grads[name], exact_string) for name in names} if fw.exact else None,
        "value_exact": json_value(fw.value, exact_string) if fw.exact else None,
        "mode": "exact" if fw.exact else "float",
        "wrt": names,
    }
    if checked is not None:
        answer["check"] = checked
    parts = [_is("f", value_text(fw.value))] + [_is(f"∂f/∂{name}", value_text(bw.grads[name])) for name in names]
    inputs = {"f": graph.text} | {
        f"at {n}" if n == "f" else n: value_text(fw.values[graph.var_index(n)]) for n in graph.names
    }
    scalars = all(bw.grads[n].ndim == 0 for n in names)
    # scalar gradients side by side (∂f/∂x inline), a few to a line; matrices one per line, as fractions
    label = (
        (lambda n: rf"\partial f/\partial {_latex_name(n)}")
        if scalars
        else (lambda n: rf"\frac{{\partial f}}{{\partial {_latex_name(n)}}}")
    )
    items = [_latex_is("f", _with_decimal(fw.value))] + [_latex_is(label(n), _with_decimal(bw.grads[n])) for n in names]
    lines = _packed(items) if scalars else items
    latex = r"\begin{gathered} " + r" \\ ".join(lines) + r" \end{gathered}"
    return Solution(
        command="backprop",
        inputs=inputs,
        answer=answer,
        summary="; ".join(parts),
        quiet="\n".join(parts),
        steps=lambda: _numeric_steps(graph, fw, bw, names, checked),
        warnings=warnings,
        answer_latex=latex,
    )


#: A line of the Answer box holds scalar results up to about this many LaTeX characters.
ANSWER_LINE = 110


def _packed(items: list[str]) -> list[str]:
    """``items`` joined by ``,\\quad`` into lines of at most :data:`ANSWER_LINE` characters."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(item) <= ANSWER_LINE:
            lines[-1] += r",\quad " + item
        else:
            lines.append(item)
    return lines


def _with_decimal(array: Any) -> str:
    """LaTeX of a value; an exact symbolic value gets its short decimal beside (σ(1) ≈ 0.731059)."""
    import numpy as np

    from dlsolve.engine.notation import decimal_latex, is_symbolic, to_float, value_latex

    # tanh upright as \operatorname{tanh} (it prints the same as \tanh), so the key reads the word the summary writes
    shown = value_latex(array).replace(r"\tanh", r"\operatorname{tanh}")
    entries = np.asarray(array, dtype=object).ravel().tolist()
    if shown.startswith(r"\approx") or not any(is_symbolic(v) for v in entries):
        return shown
    if np.ndim(array) == 0:
        return rf"{shown} \approx {decimal_latex(to_float(entries[0]))}"
    rows = (
        [np.asarray(array, dtype=object).tolist()] if np.ndim(array) == 1 else np.asarray(array, dtype=object).tolist()
    )
    body = r" \\ ".join(" & ".join(decimal_latex(to_float(v)) for v in row) for row in rows)
    return rf"{shown} \approx \begin{{bmatrix}} {body} \end{{bmatrix}}"


_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu", "sigma", "tau", "phi", "omega"}


def _latex_is(label: str, shown: str) -> str:
    return f"{label} {shown}" if shown.startswith(r"\approx") else f"{label} = {shown}"


def _latex_name(name: str) -> str:
    if name in _GREEK:
        return "\\" + name
    head, _, tail = name.partition("_")
    if tail:
        return f"{head}_{{{tail}}}"
    stripped = name.rstrip("0123456789")
    return f"{stripped}_{{{name[len(stripped) :]}}}" if stripped and stripped != name else name


# --------------------------------------------------------------------------- the working


def _shape_suffix(shape: tuple[int, ...]) -> str:
    from dlsolve.engine.notation import shape_note

    return f"   [{shape_note(shape)}]" if shape else ""


def _graph_step(graph: Any, fw: Any) -> Step:
    """The inputs and the output node; the nodes themselves are the forward table's rows (operation,
    value, shape), so they are not listed twice."""
    from dlsolve.engine.notation import shape_note

    def shape_latex(index: int) -> str:
        shape = fw.shapes[index]
        times = shape_note(shape).replace("×", r" \times ")
        return rf"\, [{times}]" if shape else ""

    leaves = list(graph.names)
    inputs = ", ".join(f"{n}{_shape_suffix(fw.shapes[graph.var_index(n)])}".replace("   ", " ") for n in leaves)
    output = graph.labels[graph.output]
    count = len(graph.operations)
    listed = "the forward pass lists them with their values" if count else "f is an input"
    text = (
        f"{count} node{'' if count == 1 else 's'}, one per operation, in topological order ({listed}); "
        "shapes in brackets:\n"
        f"inputs: {inputs}\nf = {output}"
    )
    # the LaTeX says what the text says, so the key writes it once
    latex = (
        r"\begin{aligned} \text{inputs} &: "
        + r",\ ".join(_latex_text(n) + shape_latex(graph.var_index(n)) for n in leaves)
        + r" \\ f &= "
        + _latex_text(output)
        + r" \end{aligned}"
    )
    return Step("The computational graph", text, latex, kind="backprop.graph")


def _latex_text(text: str) -> str:
    replacements = {
        "σ": r"\sigma",
        "⊙": r"\odot",
        "·": r"\cdot",
        "−": "-",
        "ᵀ": "^T",
        "√": r"\sqrt",
        "Σ": r"\sum",
        "²": "^2",
        "³": "^3",
        "⁴": "^4",
        "⁻¹": "^{-1}",
        "⁻²": "^{-2}",
        "@": r"\,",
        "_": r"\_",
    }
    text = re.sub(r"√\(([^()]*)\)", r"\\sqrt{\1}", text)  # √(2) as \sqrt{2}
    for old, new in replacements.items():
        text = text.replace(old, new)
    text = re.sub(r"(?<![\\\w])(exp|max|min|ln)\(", r"\\\1(", text)  # \exp(x), \max(x, y)
    # functions upright: mse(u5, y) as \operatorname{mse}(u_{5}, y), never the italic product m·s·e
    text = re.sub(
        r"(?<![\\\w])(mse|bce\\_with\\_logits|bce|cross\\_entropy|log\\_softmax|softmax|leaky\\_relu|relu|softplus|mean|tanh|sin|cos)\(",
        r"\\operatorname{\1}(",
        text,
    )
    return re.sub(r"\bu(\d+)\b", r"u_{\1}", text)  # the nodes u1, u2 as the graph's left-hand sides write them


def _forward_step(graph: Any, fw: Any) -> Step:
    from dlsolve.engine.notation import op_text, value_text

    with_shapes = any(fw.shapes[node.index] for node in graph.nodes)
    rows = []
    for node in graph.operations:
        row = [
            graph.labels[node.index],
            op_text(graph, node, fw.shapes),
            value_text(fw.values[node.index], exact_chars=TABLE_EXACT),
        ]
        if with_shapes:
            row.append(_shape_suffix(fw.shapes[node.index]).strip(" []") or "scalar")
        rows.append(row)
    first = graph.operations[0]
    args = [value_text(fw.values[a]) for a in first.args]
    from dlsolve.engine.notation import _BINDING

    # a negative argument is bracketed where the operation needs it ((−2) + 5), not inside σ(−4)
    bracket = first.op in _BINDING
    substituted = op_text(graph, first, fw.shapes, [f"({a})" if bracket and a.startswith("−") else a for a in args])
    example = f"{graph.labels[first.index]} = {op_text(graph, first, fw.shapes)}"
    value = value_text(fw.values[first.index])
    # the substitution once: σ(y) = σ(−4) ≈ 0.0179862, never σ(y) = σ(−4) = σ(−4) ≈ 0.0179862
    repeats = value == substituted or value.startswith(f"{substituted} ≈ ")
    if all(not fw.shapes[a] for a in first.args) and substituted != op_text(graph, first, fw.shapes) and not repeats:
        example += f" = {substituted}"
    example = _is(example, value)
    text = (
        f"Each node from its inputs, in topological order; for example {example}. "
        f"{_is(f'f = {graph.labels[graph.output]}', value_text(fw.value))}."
    )
    columns = ["node", "operation", "value"] + (["shape"] if with_shapes else [])
    return Step("Forward pass", text, blocks=[Table(columns, rows, title="forward pass")], kind="backprop.forward")


def _backward_step(graph: Any, fw: Any, bw: Any) -> Step:
    from dlsolve.engine.notation import local_text, value_text

    rows: list[list[str]] = []
    example = ""
    for node in reversed(graph.operations):
        upstream = bw.node_grads[node.index]
        if upstream is None:
            continue
        first = True
        for arg in node.args:
            for contribution in bw.contributions[arg]:
                if contribution.consumer != node.index:
                    continue
                local = local_text(graph, node, contribution.position, fw.shapes)
                target = graph.labels[arg]
                # a node fed by one consumer received its upstream gradient in that consumer's row above:
                # "as sent" rather than the value (or matrix) again; the output's 1 and sums at forks are written
                received = len(bw.contributions[node.index])
                if not first:
                    shown = ""
                elif received == 1 and node.index != graph.output:
                    shown = "as sent"
                else:
                    shown = value_text(upstream, exact_chars=TABLE_EXACT)
                rows.append(
                    [
                        graph.labels[node.index] if first else "",
                        shown,
                        local,
                        f"→ {target}: {value_text(contribution.value, exact_chars=TABLE_EXACT)}",
                    ]
                )
                first = False
                if not example:
                    label = graph.labels[node.index]
                    example = _is(
                        f"∂f/∂{target} = ∂f/∂{label} · ∂{label}/∂{target}"
                        f" = {value_text(upstream)} · {_grouped(local.split(' = ')[-1])}",
                        value_text(contribution.value),
                    )
    # the asides only where they apply: ḡ where a local derivative uses it, the sum where an input was broadcast
    asides = (["ḡ is the upstream gradient"] if any("ḡ" in row[2] for row in rows) else []) + (
        ["inputs that were broadcast receive the sum over the broadcast dimensions"] if _broadcasts(graph, fw) else []
    )
    # every node but the output got its upstream gradient from one consumer, in that consumer's row:
    # the column would only say so, so it goes (a node fed by several consumers keeps it, with the sum)
    columns = ["node", "upstream ∂f/∂u", "local derivative", "sends"]
    sent_above = all(row[1] in ("", "as sent") for row in rows[1:])
    if sent_above:
        columns = [columns[0], *columns[2:]]
        rows = [[row[0], *row[2:]] for row in rows]
    text = (
        "Reverse topological order, starting from ∂f/∂f = 1: each node's upstream gradient ∂f/∂u"
        + (" (what its consumer sent it, in the row above)" if sent_above else "")
        + " times its local derivative is what it sends to each input"
        + (f" ({'; '.join(asides)})" if asides else "")
        + "."
        + (f" First: {example}." if example else "")
    )
    return Step(
        "Backward pass",
        text,
        blocks=[Table(columns, rows, title="backward pass")],
        kind="backprop.backward",
    )


def _broadcasts(graph: Any, fw: Any) -> bool:
    """Whether an elementwise operation broadcast one of its arguments (a bias added to every row)."""
    elementwise = ("add", "sub", "mul", "div", "maximum", "minimum", "pow")
    return any(
        node.op in elementwise
        and any(fw.shapes[a] != fw.shapes[node.index] and graph.nodes[a].op != "const" for a in node.args)
        for node in graph.operations
    )


def _is(label: str, shown: str) -> str:
    """``label = value``, or ``label ≈ value`` when the value is shown as decimals only."""
    return f"{label} ≈ {shown[2:]}" if shown.startswith("≈ ") else f"{label} = {shown}"


def _grouped(text: str) -> str:
    """``text`` bracketed when it is a sum or a phrase; a single product ``u5(1 − u5)`` is not."""
    if text.startswith("−"):
        return f"({text})"  # 1 · (−1), never 1 · −1
    if " " not in text or (
        re.fullmatch(r"\w+\(.*\)", text) and text.index("(") + 1 + _closing(text[text.index("(") :]) == len(text)
    ):
        return text
    return f"({text})"


def _closing(text: str) -> int:
    """The index of the bracket that closes ``text``'s first ``(``."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    return -1


def _fork_step(graph: Any, bw: Any) -> Step | None:
    from dlsolve.engine.notation import value_text

    lines = []
    for node in graph.nodes:
        parts = sorted(bw.contributions[node.index], key=lambda part: part.consumer)
        if len(parts) < 2:
            continue
        # a long exact term is shown by its decimal alone: "0.512144 (from u2) − 0.0357615 (from u3)",
        # never "+ ≈ −0.03" or "+ −0.03"
        terms = ""
        for part in parts:
            shown = value_text(part.value, exact_chars=TABLE_EXACT).removeprefix("≈ ")
            term = f"{shown} (from {graph.labels[part.consumer]})"
            if not terms:
                terms = term
            elif shown.startswith("−") and " " not in shown:
                terms += f" − {term[1:]}"
            else:
                terms += f" + {term}"
        lines.append(_is(f"∂f/∂{graph.labels[node.index]} = {terms}", value_text(bw.node_grads[node.index])))
    if not lines:
        return None
    return Step(
        "Gradients add at forks",
        "A node used by several operations receives one gradient from each; they add:\n" + "\n".join(lines),
        kind="backprop.fork",
    )


def _gradients_step(graph: Any, fw: Any, bw: Any, names: list[str]) -> Step:
    """What each gradient is; its values are the Answer box's (each value once)."""
    shaped = [(n, fw.shapes[graph.var_index(n)]) for n in names if fw.shapes[graph.var_index(n)]]
    if shaped:
        from dlsolve.engine.notation import shape_note

        text = "Each gradient has the shape of its input: " + ", ".join(
            f"∂f/∂{n} is {shape_note(shape)}" for n, shape in shaped
        )
    else:
        text = "Each input's gradient is the sum of what it receives in the backward pass"
    return Step("Gradients", text + ".", kind="backprop.gradients")


def _numeric_steps(graph: Any, fw: Any, bw: Any, names: list[str], checked: dict[str, float] | None) -> list[Step]:
    steps = [_graph_step(graph, fw)]
    if graph.operations:
        steps += [_forward_step(graph, fw), _backward_step(graph, fw, bw)]
    fork = _fork_step(graph, bw)
    if fork:
        steps.append(fork)
    # the kinks are the warnings (shown with every key) and the local derivatives of the backward table:
    # a Kinks step would write them a third time
    steps.append(_gradients_step(graph, fw, bw, names))
    if checked is not None:
        steps.append(
            Step(
                "Check by finite differences",
                "Central differences (f(x + h) − f(x − h))/(2h), h = 10⁻⁶·max(1, |x|), against the gradient "
                f"(at most {CHECK_ENTRIES} entries per name): relative error "
                + ", ".join(f"{name}: {error:.2g}" for name, error in checked.items())
                + ".",
                kind="backprop.check",
            )
        )
    return steps


# --------------------------------------------------------------------------- symbolic mode


def _symbolic(graph: Any, values: Mapping[str, Any], wrt: Sequence[str] | None) -> Solution:
    from sympy import exp, latex, sstr

    from dlsolve.engine.notation import entry_text, json_number, sympy_text
    from dlsolve.engine.symbolic import symbolic_gradient

    scalars = {}
    for name, value in values.items():
        if getattr(value, "ndim", 0) != 0 or getattr(getattr(value, "dtype", None), "kind", "") != "O":
            raise BadInput(
                f"symbolic mode (names without a value) needs exact scalar values; {name} is not one "
                "(or give every name a value)",
                option="--at",
            )
        scalars[name] = value.item()
    names = list(wrt) if wrt is not None else list(graph.names)
    f, derivatives = symbolic_gradient(graph, names, scalars)
    free = sorted(n for n in graph.names if n not in values)

    def number(expr: Any) -> Any:
        return json_number(expr) if not expr.free_symbols and expr.is_finite else None

    answer = {
        "value": number(f),
        "f": sstr(f.rewrite(exp)),
        "symbolic": {n: sstr(d.rewrite(exp)) for n, d in derivatives.items()},
        "grad": {n: number(d) for n, d in derivatives.items() if number(d) is not None},
        "exact": None,
        "mode": "symbolic",
        "wrt": names,
    }
    lines = [f"f = {sympy_text(f)}"] + [f"∂f/∂{n} = {sympy_text(d)}" for n, d in derivatives.items()]
    steps = [
        Step(
            "Derivatives as formulas",
            f"{', '.join(free)} {'has' if len(free) == 1 else 'have'} no value, so the derivatives are formulas "
            "(chain rule, simplified; kinks as PyTorch: relu'(0) = 0, max/min split ties):\n" + "\n".join(lines),
            r"\begin{gathered} "
            + r" \\ ".join(
                [f"f = {latex(f)}"]
                + [rf"\frac{{\partial f}}{{\partial {_latex_name(n)}}} = {latex(d)}" for n, d in derivatives.items()]
            )
            + r" \end{gathered}",
            kind="backprop.symbolic",
        )
    ]
    return Solution(
        command="backprop",
        inputs={"f": graph.text} | {f"at {n}" if n == "f" else n: entry_text(v) for n, v in scalars.items()},
        answer=answer,
        summary="; ".join(lines),
        quiet="\n".join(lines),
        steps=steps,
        answer_latex=r" \quad ".join(
            rf"\frac{{\partial f}}{{\partial {_latex_name(n)}}} = {latex(d)}" for n, d in derivatives.items()
        ),
    )
