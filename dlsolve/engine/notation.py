"""How the engine's values and nodes are written on the board: text and LaTeX.

Exact values: Fractions as ``fmt`` writes them (``1/3 ≈ 0.333333``); SymPy values in one line of
mathematical notation (``1/(1 + e⁻²) ≈ 0.880797``, ``√2``, ``ln(3)``), never SymPy's ``**`` or
``exp(...)`` reprs; floats with about six significant digits. Vectors ``[1, 2]``, matrices as rows
``[1, 2; 3, 4]`` (the rows separated by ``;``, as ``--at`` reads them). Decimals out of six digits'
range in powers of ten: ``3.36253·10⁻⁵`` (LaTeX ``3.36253 \\cdot 10^{-5}``), never ``3.36253e-5``.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

from dlsolve import fmt

#: A SymPy value longer than this is shown by its decimal only (the exact string stays in --json).
LONG_EXACT = 36
#: Inside a vector or matrix, a SymPy entry longer than this turns the whole array into decimals (``≈ [...]``).
LONG_ENTRY = 14

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def decimal_text(value: Any) -> str:
    """A short decimal as the board writes it: ``−0.196612``, ``3.36253·10⁻⁵``."""
    mantissa, _, exponent = fmt.decimal(value).partition("e")
    shown = mantissa + (f"·10{exponent.translate(_SUPERSCRIPT)}" if exponent else "")
    return shown.replace("-", "−")


def decimal_latex(value: Any) -> str:
    """A short decimal in LaTeX: ``-0.196612``, ``3.36253 \\cdot 10^{-5}``."""
    mantissa, _, exponent = fmt.decimal(value).partition("e")
    return mantissa + (rf" \cdot 10^{{{exponent}}}" if exponent else "")


def is_symbolic(value: Any) -> bool:
    """True for a SymPy value (not a Fraction, int or float)."""
    return not isinstance(value, Fraction | int | float) and hasattr(value, "free_symbols")


def _printer() -> Any:
    from sympy.printing.str import StrPrinter

    class BoardPrinter(StrPrinter):
        def _print_sigmoid(self, expr: Any) -> str:
            return f"σ({self._print(expr.args[0])})"

        def _print_Piecewise(self, expr: Any) -> str:
            pieces = []
            for value, condition in expr.args:
                where = "otherwise" if condition == True else "if " + self._print(condition)  # noqa: E712
                pieces.append(f"{self._print(value)} {where}")
            return "{" + "; ".join(pieces) + "}"

    return BoardPrinter()


def sympy_text(expr: Any) -> str:
    """One line of mathematical notation for a SymPy expression."""
    text = _printer().doprint(expr)
    text = re.sub(r"exp\((-?\d+)\)", lambda m: "e" + m.group(1).translate(_SUPERSCRIPT), text)
    text = re.sub(r"\*\*(\d)\b", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    text = re.sub(r"sqrt\((\w+)\)", r"√\1", text)
    text = text.replace("sqrt(", "√(").replace("log(", "ln(").replace("exp(", "e^(").replace("**", "^")
    text = text.replace("*", "·").replace("E", "e")
    return text.replace("-", "−")


def to_float(value: Any) -> float:
    """A float from a Fraction, float or numeric SymPy value."""
    if is_symbolic(value):
        result = value.evalf(17)
        # a sum that cancels to zero evaluates to a Float with no significant digit (``0.e-140``): it is 0
        if getattr(result, "_prec", 53) < 10:
            return 0.0
        return float(result)
    return float(value)


def entry_text(value: Any) -> str:
    """One entry, exact where it is exact (no decimal beside)."""
    if is_symbolic(value):
        text = sympy_text(value)
        return text if len(text) <= LONG_EXACT else "≈ " + decimal_text(to_float(value))
    if isinstance(value, float) or not fmt.is_exact(value):
        return decimal_text(float(value))
    return fmt.exact(value).replace("-", "−")


def scalar_text(value: Any, exact_chars: int = LONG_EXACT) -> str:
    """A scalar with its decimal beside where the exact form is not already a short decimal.

    A SymPy value longer than ``exact_chars`` is shown by its decimal only (``≈ 0.196612``).
    """
    if is_symbolic(value):
        text = sympy_text(value)
        decimal = decimal_text(to_float(value))
        return f"{text} ≈ {decimal}" if len(text) <= exact_chars else f"≈ {decimal}"
    if isinstance(value, float) or not fmt.is_exact(value):
        return decimal_text(float(value))
    return fmt.number(value).replace("-", "−")


#: Arrays with more entries than this are shown in part (the corners), with their shape.
SHOWN_ENTRIES = 36


def value_text(array: Any, limit: int = SHOWN_ENTRIES, exact_chars: int = LONG_EXACT) -> str:
    """A 0-d, 1-D or 2-D array: a scalar (with decimal), ``[a, b]`` or ``[a, b; c, d]`` (rows split by ``;``).

    An array of more than ``limit`` entries shows its first rows and columns, ``…`` and its shape.
    """
    if array.size > limit:
        if array.ndim == 1:
            return "[" + ", ".join(entry_text(v) for v in array[:4].tolist()) + ", …] (" + shape_note(array.shape) + ")"
        rows = [
            ", ".join(entry_text(v) for v in row[:4].tolist()) + (", …" if len(row) > 4 else "") for row in array[:2]
        ]
        return "[" + "; ".join(rows) + "; …] (" + shape_note(array.shape) + ")"
    if array.ndim == 0:
        return scalar_text(array.item() if hasattr(array, "item") else array, exact_chars)
    entries = array.tolist()
    flat = entries if array.ndim == 1 else [v for row in entries for v in row]
    approximate = any(is_symbolic(v) and len(sympy_text(v)) > LONG_ENTRY for v in flat)

    def show(value: Any) -> str:
        if approximate and is_symbolic(value):
            return decimal_text(to_float(value))
        return entry_text(value)

    if array.ndim == 1:
        body = "[" + ", ".join(show(v) for v in entries) + "]"
    else:
        body = "[" + "; ".join(", ".join(show(v) for v in row) for row in entries) + "]"
    return "≈ " + body if approximate else body


def entry_latex(value: Any) -> str:
    if is_symbolic(value):
        from sympy import latex

        text = latex(value, ln_notation=True)  # ln, as the text writes it
        return text if len(text) <= 2 * LONG_EXACT else r"\approx " + decimal_latex(to_float(value))
    if isinstance(value, float) or not fmt.is_exact(value):
        return decimal_latex(float(value))
    return fmt.latex_number(value)


def value_latex(array: Any, limit: int = SHOWN_ENTRIES) -> str:
    """LaTeX of a value: a number, a row vector or a bmatrix (its corner and its shape beyond ``limit`` entries)."""
    if array.size > limit:
        corner = array[:2, :4] if array.ndim == 2 else array[:4]
        return value_latex(corner, limit) + r"\cdots\ (" + r" \times ".join(map(str, array.shape)) + ")"
    if array.ndim == 0:
        return entry_latex(array.item())
    rows = [array.tolist()] if array.ndim == 1 else array.tolist()
    approximate = any(is_symbolic(v) and len(sympy_text(v)) > LONG_ENTRY for row in rows for v in row)

    def show(value: Any) -> str:
        return decimal_latex(to_float(value)) if approximate and is_symbolic(value) else entry_latex(value)

    body = r" \\ ".join(" & ".join(show(v) for v in row) for row in rows)
    return (r"\approx " if approximate else "") + r"\begin{bmatrix} " + body + r" \end{bmatrix}"


def exact_string(value: Any) -> str:
    """A string SymPy can parse back (``1/3``, ``1/(1 + exp(-2))``)."""
    if is_symbolic(value):
        from sympy import exp, sstr

        return sstr(value.rewrite(exp))
    return fmt.exact(value) if fmt.is_exact(value) else repr(float(value))


def json_value(array: Any, convert: Any) -> Any:
    """A nested list (or a scalar) of ``convert(entry)`` for a 0-d, 1-D or 2-D array."""
    if array.dtype.kind == "f" and convert is json_number:
        return array.tolist()  # float64: already JSON numbers, and fast for large gradients

    def walk(item: Any) -> Any:
        return [walk(entry) for entry in item] if isinstance(item, list) else convert(item)

    return walk(array.tolist())


def json_number(value: Any) -> int | float:
    """A JSON number: ints stay ints (exact whole values), everything else a float."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value.numerator)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return to_float(value)


def shape_note(shape: tuple[int, ...]) -> str:
    """``2×3`` for a matrix, ``3`` for a vector, empty for a scalar."""
    return "×".join(str(d) for d in shape)


# --------------------------------------------------------------------------- nodes on the board

_FUNCTION_TEXT = {
    "exp": "exp({a})",
    "log": "ln({a})",
    "sqrt": "√({a})",
    "abs": "|{a}|",
    "sin": "sin({a})",
    "cos": "cos({a})",
    "tanh": "tanh({a})",
    "sigmoid": "σ({a})",
    "relu": "relu({a})",
    "softplus": "softplus({a})",
    "softmax": "softmax({a})",
    "log_softmax": "log_softmax({a})",
    "maximum": "max({a}, {b})",
    "minimum": "min({a}, {b})",
    "mse": "mse({a}, {b})",
    "bce": "bce({a}, {b})",
    "bce_with_logits": "bce_with_logits({a}, {b})",
    "cross_entropy": "cross_entropy({a}, {b})",
    "add": "{a} + {b}",
    "sub": "{a} − {b}",
    "div": "{a} / {b}",
    "neg": "−{a}",
    "transpose": "{a}ᵀ",
    "matmul": "{a} @ {b}",
}

_LOCAL_TEXT: dict[str, tuple[str, ...]] = {
    "add": ("1", "1"),
    "sub": ("1", "−1"),
    "mul": ("{b}", "{a}"),
    "div": ("1/{b}", "−{a}/{b}²"),
    "pow": ("{b}·{a}^({b} − 1)", "{a}^{b}·ln {a}"),
    "maximum": ("1 where {a} > {b}, ½ on a tie", "1 where {b} > {a}, ½ on a tie"),
    "minimum": ("1 where {a} < {b}, ½ on a tie", "1 where {b} < {a}, ½ on a tie"),
    "neg": ("−1",),
    "exp": ("{u}",),
    "log": ("1/{a}",),
    "sqrt": ("1/(2{u})",),
    "abs": ("sign({a}) (0 at 0)",),
    "sin": ("cos({a})",),
    "cos": ("−sin({a})",),
    "tanh": ("1 − {u}²",),
    "sigmoid": ("{u}(1 − {u})",),
    "relu": ("1 where {a} > 0, else 0",),
    "leaky_relu": ("1 where {a} > 0, else {slope}",),
    "softplus": ("σ({a})",),
    "transpose": ("transpose back: ḡᵀ",),
    "sum": ("1 for every entry: ḡ copied",),
    "mean": ("1/{n} for every entry",),
    "softmax": ("s ⊙ (ḡ − Σ ḡ ⊙ s), s = {u}",),
    "log_softmax": ("ḡ − softmax({a}) · Σ ḡ",),
    "mse": ("2({a} − {b})/{n}", "−2({a} − {b})/{n}"),
    "bce": ("({a} − {b}) / ({a}(1 − {a})) / {n}", "(ln(1 − {a}) − ln {a}) / {n}"),
    "bce_with_logits": ("(σ({a}) − {b}) / {n}", "−{a}/{n}"),
    "cross_entropy": ("(softmax({a}) − y)/{n}: the p − y shortcut", "−log_softmax({a})/{n}"),
}

_MATMUL_LOCAL = {
    (1, 1): ("ḡ · {b}", "ḡ · {a}"),
    (2, 1): ("ḡ {b}ᵀ (outer product)", "{a}ᵀ ḡ"),
    (1, 2): ("{b} ḡ", "{a} ḡᵀ (outer product)"),
    (2, 2): ("ḡ {b}ᵀ", "{a}ᵀ ḡ"),
}

_SUPERSCRIPT_POWERS = {2: "²", 3: "³", 4: "⁴", -1: "⁻¹", -2: "⁻²"}


def _param_text(value: Any) -> str:
    return entry_text(value) if not isinstance(value, bool) else str(value)


def op_text(graph: Any, node: Any, shapes: list[tuple[int, ...]], arg_texts: list[str] | None = None) -> str:
    """The operation of ``node`` written with its arguments' labels: ``u1 · z``, ``σ(u3)``, ``W1 @ x``.

    ``arg_texts`` replaces the labels (to write the substitution, ``(−2) + 5``).
    """
    labels = arg_texts if arg_texts is not None else [graph.labels[a] for a in node.args]
    a = labels[0] if labels else ""
    b = labels[1] if len(labels) > 1 else ""
    if node.op == "mul":
        both = shapes[node.args[0]] and shapes[node.args[1]]
        return f"{a} ⊙ {b}" if both else f"{a} · {b}"
    if node.op == "pow":
        exponent = graph.nodes[node.args[1]]
        if exponent.op == "const" and exponent.constant in _SUPERSCRIPT_POWERS:
            return a + _SUPERSCRIPT_POWERS[int(exponent.constant)]
        return f"{a}^{b}"
    if node.op == "leaky_relu":
        return f"leaky_relu({a}, {_param_text(node.params[0])})"
    if node.op in ("sum", "mean"):
        dim, keepdim = node.params
        if dim is None:
            return f"Σ {a}" if node.op == "sum" else f"mean({a})"
        return f"{node.op}({a}, dim={dim}{', keepdim' if keepdim else ''})"
    return _FUNCTION_TEXT[node.op].format(a=a, b=b)


#: How tightly an operation binds, to know when an argument needs brackets (functions: 9, atoms).
_BINDING = {"add": 1, "sub": 1, "neg": 2, "mul": 3, "div": 3, "matmul": 3, "pow": 5, "transpose": 6}


def formula_text(graph: Any, shapes: list[tuple[int, ...]] | None = None) -> str:
    """The whole expression in board notation, with only the brackets it needs:
    ``w**2 + 3*w`` -> ``w² + 3 · w``, ``sum((A @ w - b)**2)`` -> ``Σ (A @ w − b)²``."""
    shapes = shapes if shapes is not None else [()] * len(graph.nodes)
    texts: list[str] = []
    binding: list[int] = []
    for node in graph.nodes:
        if node.is_leaf:
            texts.append(graph.labels[node.index])
            negative = node.op == "const" and node.constant is not None and node.constant < 0
            binding.append(2 if negative else 9)
            continue
        strength = _BINDING.get(node.op, 9)
        arguments = []
        for position, arg in enumerate(node.args):
            inner = binding[arg]
            # a − (b + c), a / (b · c), (a + b)², (−a)²: the right operand of − and /, and the base of a power
            tight = inner < strength or (inner == strength and position == 1 and node.op in ("sub", "div"))
            tight = tight or (node.op in ("pow", "transpose") and inner < 9)
            arguments.append(f"({texts[arg]})" if tight and strength < 9 else texts[arg])
        texts.append(op_text(graph, node, shapes, arguments))
        binding.append(strength)
    return texts[graph.output]


def local_text(graph: Any, node: Any, position: int, shapes: list[tuple[int, ...]]) -> str:
    """The local derivative of ``node`` with respect to its argument ``position``, as a formula.

    ``ḡ`` is the upstream gradient ∂f/∂node where the rule needs it (matrix products, softmax).
    """
    labels = [graph.labels[a] for a in node.args]
    fields = {"a": labels[0], "b": labels[1] if len(labels) > 1 else "", "u": graph.labels[node.index]}
    if node.op == "matmul":
        ranks = (len(shapes[node.args[0]]), len(shapes[node.args[1]]))
        return _MATMUL_LOCAL[ranks][position].format(**fields)
    if node.op == "pow" and position == 0:
        exponent = graph.nodes[node.args[1]]
        if exponent.op == "const" and exponent.constant is not None and float(exponent.constant).is_integer():
            power = int(exponent.constant)  # 2·u4, 3·u4², never 2·u4^(2 − 1)
            if power - 1 == 1:
                return f"{power}·{fields['a']}"
            lowered = _SUPERSCRIPT_POWERS.get(power - 1, f"^{power - 1}".replace("-", "−"))
            return f"{entry_text(power)}·{fields['a']}{lowered}"
    if node.op == "leaky_relu":
        fields["slope"] = _param_text(node.params[0])
    if node.op in ("mean", "mse", "bce", "bce_with_logits", "cross_entropy"):
        shape = shapes[node.args[0]]
        if node.op == "cross_entropy":
            count = shape[0] if len(shape) == 2 else 1
        elif node.op == "mean" and node.params[0] is not None and shape:
            count = shape[node.params[0] % len(shape)]
        elif node.op == "mse":
            from dlsolve.engine.graph import broadcast_shapes

            count = math.prod(broadcast_shapes(shape, shapes[node.args[1]]))
        else:
            count = math.prod(shape)
        fields["n"] = str(count)
    template = _LOCAL_TEXT[node.op][position]
    if fields.get("n") == "1" and node.op != "mean":
        template = template.replace(" / {n}", "").replace("/{n}", "")  # 2(u5 − y), not 2(u5 − y)/1
    return template.format(**fields)
