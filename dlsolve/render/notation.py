"""Plain-text maths as LaTeX: the notation of the working's text, typeset.

A step's ``text`` writes maths as plain text (``d_k = 2``, ``x_iᵀθ``, ``1/sqrt(2) ≈ 0.707107``,
``θ* = θ_0 + M X^T a``). :func:`segments` finds the maths in a line of prose (runs of operators,
numbers, letters with scripts, Greek) and the code (file names, calls, snake_case names);
:func:`ascii_to_latex` writes a run as LaTeX maths. Pure functions on strings.
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import NamedTuple

#: Unicode in the working -> LaTeX maths.
_GREEK_COMMANDS = (
    "alpha beta gamma delta varepsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon varphi chi"
    " psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega"
)
SYMBOLS = {
    **{
        letter: "\\" + name
        for letter, name in zip("αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩ", _GREEK_COMMANDS.split(), strict=True)
    },
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\varepsilon",
    "η": r"\eta",
    "θ": r"\theta",
    "λ": r"\lambda",
    "μ": r"\mu",
    "ν": r"\nu",
    "π": r"\pi",
    "ρ": r"\rho",
    "σ": r"\sigma",
    "τ": r"\tau",
    "φ": r"\varphi",
    "ω": r"\omega",
    "Δ": r"\Delta",
    "Σ": r"\sum",
    "∏": r"\prod",
    "∇": r"\nabla",
    "·": r"\cdot",
    "×": r"\times",
    "−": "-",
    "±": r"\pm",
    "≈": r"\approx",
    "∂": r"\partial",
    "≤": r"\le",
    "≥": r"\ge",
    "≠": r"\ne",
    "∈": r"\in",
    "∞": r"\infty",
    "∝": r"\propto",
    "⊗": r"\otimes",
    "⊙": r"\odot",
    "⋆": r"\star",
    "←": r"\leftarrow",
    "→": r"\to",
    "⇒": r"\Rightarrow",
    "⌊": r"\lfloor",
    "⌋": r"\rfloor",
    "⌈": r"\lceil",
    "⌉": r"\rceil",
    "°": r"^\circ",
    "ᵀ": r"^\top",
    "²": "^2",
    "³": "^3",
    "‖": r"\|",
    "|": "|",
    "…": r"\ldots",
    "%": r"\%",
    "#": r"\#",
    "&": r"\&",
    "$": r"\$",
    "~": r"\sim",
    "\\": r"\backslash",
}

#: Greek letters spelled out in plain text (``theta_t``, ``lambda_max``).
GREEK_NAMES = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "eta",
    "theta",
    "lambda",
    "mu",
    "sigma",
    "rho",
    "tau",
    "omega",
)

#: Words that are maths in plain text -> LaTeX.
FUNCTIONS = {
    "exp": r"\exp",
    "ln": r"\ln",
    "log": r"\log",
    "max": r"\max",
    "min": r"\min",
    "sum": r"\sum",
    "inf": r"\infty",
    "det": r"\det",
    "tanh": r"\tanh",
    "sin": r"\sin",
    "cos": r"\cos",
    "argmax": r"\operatorname{argmax}",
    "argmin": r"\operatorname{argmin}",
    **{name: "\\" + name for name in GREEK_NAMES},
}

GREEK_LETTERS = "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩ"
_OPERATORS = {"=", "+", "-", "−", "·", "×", "/", "≈", "≤", "≥", "<", ">", "<=", ">=", "->", "←", "→", "∈", "≠", "*"}
#: Unicode superscripts, as the plain text writes powers (``M⁻¹``, ``10⁻³``, ``β₁ᵗ``)
SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺ⁿᵗⁱ", "0123456789-+nti", strict=True))
#: Unicode subscripts, as the plain text writes indices (``θ₀``, ``β₁``, ``m̂ₜ``)
SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼ", "0123456789+-aeoxhklmnpstij", strict=True))
_STRONG = set("_^ᵀ√∇∂Σ∏⌊⌋‖·×≈±≤≥←→∈∞⊗⊙⋆∝") | set(SUPERSCRIPTS) | set(SUBSCRIPTS) | set(GREEK_LETTERS)
_NUMBER = re.compile(r"[-−]?(?:\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?(?:/\d+)?%?|[-−]?inf")
#: File names, calls of methods and snake_case names: code, not maths.
_CODE = re.compile(
    r"(?!(?:" + "|".join((*GREEK_NAMES, "max", "min", "sum", "arg")) + r")_)"
    r"(?:[\w./-]*\.(?:py|csv|txt|npy|toml|json)(?::\d+)*|[A-Za-z_]\w+\.[A-Za-z_]\w+(?:\(.*\))?"
    # snake_case names of code: called, assigned, three parts, or long words on both sides (zero_grad,
    # loss_fn); short ones are maths (rf_in, jump_in, C_out)
    r"|[A-Za-z]{2,}(?:_[A-Za-z0-9]+)+(?:\(.*\)|=\S+)|[A-Za-z]{2,}(?:_[A-Za-z0-9]+){2,}"
    r"|[A-Za-z]{3,}_(?:[A-Za-z0-9]{3,}|fn)|[A-Za-z]\w*\(\)|--[a-z][\w-]*(?:[:=]\S+)?|DL\d{3})"
)
_FUNCTION_CALL = re.compile(r"(?:sqrt|exp|ln|log|diag|sign|softmax|tanh|sin|cos)\(.*\)")


def matching(text: str, start: int) -> int:
    """Index just past the bracket closing the one at ``start`` (``len(text)`` if unclosed)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    opening, closing = text[start], pairs[text[start]]
    depth = 0
    for index in range(start, len(text)):
        if text[index] == opening:
            depth += 1
        elif text[index] == closing:
            depth -= 1
            if depth == 0:
                return index + 1
    return len(text)


def _script(text: str, index: int) -> tuple[str, int]:
    """The sub- or superscript starting at ``text[index]`` (after ``_`` or ``^``), as LaTeX."""
    if index >= len(text):
        return "{}", index
    char = text[index]
    if char in "{(":
        end = matching(text, index)
        inner = text[index + 1 : end - 1] if end <= len(text) and text[end - 1] in "})" else text[index + 1 : end]
        return "{" + ascii_to_latex(inner) + "}", end
    match = re.compile(r"-?[A-Za-z0-9]+|[" + GREEK_LETTERS + r"*]").match(text, index)
    if not match:
        return "{}", index
    token = match.group()
    if token == "T":
        return r"\top", match.end()
    end = match.end()
    # ‖x‖_M⁻¹ is the norm of M⁻¹ (a matrix, upper case), where x_i² is (x_i)²
    if text[index - 1] == "_" and token.isupper() and end < len(text) and text[end] in SUPERSCRIPTS:
        while end < len(text) and text[end] in SUPERSCRIPTS:
            end += 1
        return "{" + ascii_to_latex(text[index:end]) + "}", end
    if len(token) > 1 and token.isalpha() and token not in ("ij", "ik", "jk", "in"):
        token = r"\mathrm{" + token + "}" if len(token) > 2 else token
    return "{" + (token if token.startswith("\\") else ascii_to_latex(token)) + "}", match.end()


_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?![\d,])")


def _closed(pieces: list[str]) -> str:
    return re.sub(r" {2,}", " ", "".join(pieces)).strip()


@functools.lru_cache(maxsize=4096)
def ascii_to_latex(text: str) -> str:
    """Plain-text maths as LaTeX maths: ``x_i^T θ`` -> ``x_{i}^{\\top} \\theta``.

    Greek and operators through :data:`SYMBOLS`, ``_x``/``^x`` scripts (``^T`` is the transpose),
    ``sqrt(..)``, ``√3``, ``θ*``, ``->``/``<=``/``>=``/``||``, known functions (``exp``, ``max``),
    other words upright (``\\mathrm{final}``). Braces are only kept when they group a script.
    """
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        two = text[index : index + 2]
        after_number = index > 0 and (text[index - 1].isdigit() or text[index - 1] in ",.")
        if char.isdigit() and not after_number and (grouped := _THOUSANDS.match(text, index)):
            out.append(grouped.group().replace(",", "{,}"))  # 1,000,000 as one number, not a list
            index = grouped.end()
        elif two in ("->", "<=", ">=", "||", "!="):
            out.append({"->": r"\to ", "<=": r"\le ", ">=": r"\ge ", "||": r"\| ", "!=": r"\ne "}[two])
            index += 2
        elif char in "_^" or two == "**":
            char = "^" if two == "**" else char
            script, index = _script(text, index + (2 if two == "**" else 1))
            if out and out[-1].startswith(char):  # x_a_b: TeX refuses a double script
                out.append("{}")
            out.append(char + script)
        elif text.startswith("sqrt(", index):
            end = matching(text, index + 4)
            out.append(r"\sqrt{" + ascii_to_latex(text[index + 5 : end - 1]) + "}")
            index = end
        elif char == "√":
            match = re.compile(
                r"√(\d+(?:\.\d+)?|[A-Za-z"
                + GREEK_LETTERS
                + r"]\u0302?(?:["
                + "".join(SUBSCRIPTS)
                + r"]+|_\{[^{}]*\}|_[A-Za-z0-9]+)?|\(.*?\))"
            ).match(text, index)
            if match:
                inner = match.group(1)
                inner = inner[1:-1] if inner.startswith("(") else inner
                out.append(r"\sqrt{" + ascii_to_latex(inner) + "}")
                index = match.end()
            else:
                out.append(r"\surd ")
                index += 1
        elif char == "*":
            after = text[index + 1 : index + 2]
            before = text[index - 1 : index] if index else ""
            starred = before and (before.isalpha() or before in GREEK_LETTERS or before == "}") and not after.isalnum()
            out.append("^*" if starred else r"\cdot ")
            index += 1
        elif (name := re.compile(r"[A-Za-z]{2,}(?:_[A-Za-z]{3,})+(?![A-Za-z0-9_])").match(text, index)) and (
            name.group().split("_")[0] not in GREEK_NAMES
        ):
            out.append(r"\mathrm{" + name.group().replace("_", r"\_") + "}")
            index = name.end()
        elif char.isalpha() and char.isascii():
            match = re.compile(r"[A-Za-z]+").match(text, index)
            assert match is not None
            word = match.group()
            if word == "inf" and out and out[-1] in ("-", "−"):
                out.append(r"\infty ")
            elif word in FUNCTIONS:
                out.append(FUNCTIONS[word] + " ")
            elif len(word) == 1:
                out.append(word)
            elif len(word) == 2 and word[0].isupper() and word[1].islower():  # He, Hx_i: a product
                out.append(word[0] + " " + word[1])
            else:
                out.append(r"\mathrm{" + word + "}")
            index = match.end()
        elif char in SUPERSCRIPTS or char in SUBSCRIPTS:  # M⁻¹, 10⁻³, x², θ₀: one script for the run
            table, mark = (SUPERSCRIPTS, "^") if char in SUPERSCRIPTS else (SUBSCRIPTS, "_")
            end = index
            while end < len(text) and text[end] in table:
                end += 1
            script = "".join(table[c] for c in text[index:end])
            if out and out[-1].startswith(mark):  # x₁₂ is one run; x_a₁ would be a double script
                out.append("{}")
            out.append(mark + (script if len(script) == 1 else "{" + script + "}"))
            index = end
        elif char == "\u0302" and out:  # combining hat
            out[-1] = r"\hat{" + out[-1].strip() + "}"
            index += 1
        elif char in "{}":
            out.append("\\" + char)
            index += 1
        elif char in SYMBOLS:
            symbol = SYMBOLS[char]
            out.append(symbol + (" " if symbol[-1].isalpha() else ""))
            index += 1
        else:
            out.append(char)
            index += 1
    return _closed(out)


_PROSE_WORD = re.compile(r"(?<![_^A-Za-z\\])[A-Za-z]{3,}(?![A-Za-z(])")
MATH_WORDS = {*FUNCTIONS, "sqrt", "diag", "sign", "softmax", "pad", "out", "mean", "rank", "span"}


#: Two-letter English words that make a bracketed group prose ("(or x = 1)"); not "in", a formula's input size.
_SHORT_WORDS = re.compile(r"(?<![\w\\])(?:or|at|is|to|by|of|on|if|as|an|be|so|it|no|we)(?!\w)")


def _has_prose(text: str) -> bool:
    return any(word not in MATH_WORDS for word in _PROSE_WORD.findall(text)) or bool(_SHORT_WORDS.search(text))


def _classify(core: str) -> str:
    """``op``, ``num``, ``strong`` (certainly maths), ``weak`` (maths beside maths), ``group``
    (brackets holding prose) or ``word``."""
    if core in _OPERATORS:
        return "op"
    if _CODE.fullmatch(core):
        return "code"
    if _NUMBER.fullmatch(core):
        return "num"
    if " " in core and _has_prose(core):
        return "group"
    if any(char in _STRONG for char in core) or _FUNCTION_CALL.fullmatch(core) or core in GREEK_NAMES:
        return "strong"
    if re.fullmatch(r"[A-Za-z0-9]+[*/][A-Za-z0-9()]+|[A-Za-z]+\*", core):
        return "strong"
    if " " in core and any(op in core.split() for op in _OPERATORS):
        return "strong"
    if len(core) == 1 and core.isalpha() and core.isascii():
        return "weak"
    if re.fullmatch(
        r"\d+[A-Za-z]|[A-Za-z]\d{1,2}|\d+x\d+|[A-Za-z]\([A-Za-z0-9, ]*\)?|[A-Za-z]\[[A-Za-z0-9, ]*\]", core
    ):
        return "weak"
    return "word"


class _Token(NamedTuple):
    lead: str
    core: str
    trail: str
    kind: str


def _words(text: str) -> list[str]:
    """``text`` split at spaces outside brackets."""
    words: list[str] = []
    depth = 0
    for piece in text.split(" "):
        if depth > 0 and words:
            words[-1] += " " + piece
        else:
            words.append(piece)
        depth += sum(piece.count(c) for c in "([{") - sum(piece.count(c) for c in ")]}")
        depth = max(depth, 0)
    return words


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for word in _words(text):
        lead = re.match(r"[(\[]*", word).group()  # type: ignore[union-attr]
        rest = word[len(lead) :]
        trail = re.search(r"[)\],.;:!?]*$", rest).group()  # type: ignore[union-attr]
        core = rest[: len(rest) - len(trail)]
        # brackets balanced inside the core stay in it: sqrt(2), f(x), K[a,b]
        while trail[:1] in (")", "]") and trail and core.count({")": "(", "]": "["}[trail[0]]) > core.count(trail[0]):
            core, trail = core + trail[0], trail[1:]
        tokens.append(_Token(lead, core, trail, _classify(core) if core else "word"))
    return tokens


def _between_operators(tokens: list[_Token], index: int) -> bool:
    """A snake_case name inside a formula (``+ output_padding +``) is a term of it."""
    token = tokens[index]
    return (
        token.kind == "code"
        and re.fullmatch(r"[A-Za-z]+(?:_[A-Za-z]+)+", token.core) is not None
        and 0 < index < len(tokens) - 1
        and tokens[index - 1].kind == "op"
        and tokens[index + 1].kind == "op"
    )


def segments(text: str) -> list[tuple[str, str]]:
    """``text`` as runs of ``("text", plain)``, ``("math", LaTeX)`` and ``("code", plain)``.

    A maths run is a stretch of words that are operators, numbers, single letters or certainly
    maths (a script, a Greek letter, ``·``, ``sqrt(..)``), holding at least one operator or certain
    maths word; punctuation after a word other than a closing bracket ends the run. A lone negative
    number is maths too (a minus sign, not a hyphen). Text in backticks is code as it stands
    (`` `with torch.no_grad():` ``).
    """
    if "`" in text and re.search(r"`[^`]+`", text):
        quoted: list[tuple[str, str]] = []
        for index, piece in enumerate(re.split(r"`([^`]+)`", text)):
            for kind, value in [("code", piece)] if index % 2 else segments(piece):
                if quoted and quoted[-1][0] == kind == "text":
                    quoted[-1] = ("text", quoted[-1][1] + value)
                elif value:
                    quoted.append((kind, value))
        return quoted
    tokens = _tokens(text)
    parts: list[tuple[str, str]] = []

    def add(kind: str, value: str) -> None:
        if not value:
            return
        if parts and parts[-1][0] == kind == "text":
            parts[-1] = ("text", parts[-1][1] + value)
        else:
            parts.append((kind, value))

    index = 0
    while index < len(tokens):
        if index:
            add("text", " ")
        end = index
        while end < len(tokens) and (
            tokens[end].kind not in ("word", "group", "code") or _between_operators(tokens, end)
        ):
            end += 1
            if tokens[end - 1].trail.strip(")]"):
                break
        run = tokens[index:end]
        certain = any(t.kind == "strong" for t in run) or (
            any(t.kind == "op" for t in run) and len(run) >= 2 and any(t.kind != "op" for t in run)
        )
        negative = len(run) == 1 and run[0].kind == "num" and (run[0].core[0] in "-−" or "inf" in run[0].core)
        if not run or not (certain or negative):
            token = tokens[index]
            if token.kind == "group" and token.core != text:
                add("text", token.lead)
                for kind, value in segments(token.core):
                    add(kind, value)
                add("text", token.trail)
            elif token.kind == "code":
                add("text", token.lead)
                add("code", token.core)
                add("text", token.trail)
            else:
                add("text", token.lead + token.core + token.trail)
            index += 1
            continue
        inner = run[0].core + "".join(
            previous.trail + " " + token.lead + token.core for previous, token in itertools.pairwise(run)
        )
        trail = run[-1].trail
        while trail[:1] in (")", "]") and trail and inner.count({")": "(", "]": "["}[trail[0]]) > inner.count(trail[0]):
            inner, trail = inner + trail[0], trail[1:]
        lead = run[0].lead
        while lead and inner.count({"(": ")", "[": "]"}[lead[-1]]) > inner.count(lead[-1]):  # closed inside
            inner, lead = lead[-1] + inner, lead[:-1]
        add("text", lead)
        add("math", ascii_to_latex(inner))
        add("text", trail)
        index = end
    return parts


def cell_latex(cell: str) -> str:
    """A table or matrix cell (a number, ``-inf``, ``1/3 ≈ 0.33``, a short label) as LaTeX maths."""
    cell = cell.strip()
    match = re.fullmatch(r"([-−]?)(\d+)/(\d+)(.*)", cell)
    if match:
        sign, numerator, denominator, rest = match.groups()
        return ("-" if sign else "") + r"\frac{" + numerator + "}{" + denominator + "}" + ascii_to_latex(rest)
    return ascii_to_latex(cell)


#: Plain-text arrows and comparisons as the symbols they stand for (in prose, not code).
ARROWS = {"->": "→", "<-": "←", ">=": "≥", "<=": "≤", "!=": "≠"}


def text_symbols(text: str) -> str:
    """``a -> b``, ``x >= 1`` with the arrow and comparison symbols."""
    for ascii_form, symbol in ARROWS.items():
        text = text.replace(ascii_form, symbol)
    return text
