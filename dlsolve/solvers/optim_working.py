"""The board for ``dlsolve optim``: the update rule, step 1 substituted, and weight decay explained.

Text only (the numbers come from :mod:`dlsolve.solvers.optim_rules`); one function per step kind of
:mod:`dlsolve.solvers.optim`.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.solution import Step
from dlsolve.solvers import optim_rules as rules
from dlsolve.solvers import surds


def _n(value: Any) -> str:
    return surds.exact_text(Fraction(value) if fmt.is_exact(value) else float(value))


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def small(value: Any) -> str:
    """A small constant as a board writes it: ``10⁻⁸``, ``5·10⁻⁷`` (never ``1e-8``)."""
    mantissa, _, exponent = fmt.decimal(value).partition("e")
    if not exponent:
        return mantissa.replace("-", "−")
    return ("" if mantissa == "1" else mantissa + "·") + "10" + exponent.translate(_SUPERSCRIPT)


def _hyper(config: rules.Config) -> str:
    opt = config.opt
    parts = [f"η = {_n(config.lr)}"]
    if opt in ("momentum", "nesterov") or (opt in ("sgd", "rmsprop") and config.momentum):
        parts.append(f"μ = {_n(config.momentum)}")
    if opt in ("sgd", "momentum") and config.dampening:
        parts.append(f"τ = {_n(config.dampening)} (dampening)")
    if opt in ("adam", "adamw"):
        parts += [f"β₁ = {_n(config.beta1)}", f"β₂ = {_n(config.beta2)}"]
    if opt == "rmsprop":
        parts.append(f"α = {_n(config.alpha)}")
    if opt == "adagrad":
        parts.append(f"s₀ = {_n(config.initial_accumulator)}")
        if config.lr_decay:
            parts.append(f"lr_decay = {_n(config.lr_decay)}")
    if opt in ("adagrad", "rmsprop", "adam", "adamw"):
        parts.append(f"ε = {small(config.eps)}")
    if config.weight_decay:
        parts.append(f"λ = {_n(config.weight_decay)} (weight decay)")
    return ", ".join(parts)


def _rule(config: rules.Config) -> tuple[str, list[str]]:
    """The update rule (plain text) and the notes on PyTorch's form versus the textbook's."""
    opt, textbook = config.opt, config.textbook
    notes: list[str] = []
    momentum = opt in ("momentum", "nesterov") or (opt == "sgd" and config.momentum)
    if not momentum and opt == "sgd":
        rule = "θ_t = θ_{t−1} − η·g_t"
    elif textbook and opt == "nesterov":
        rule = (
            "v₀ = 0, v_t = μ·v_{t−1} − η·g_t with g_t = ∇f(θ_{t−1} + μ·v_{t−1}) (the look-ahead point), "
            "θ_t = θ_{t−1} + v_t"
        )
        notes.append(
            "Textbook Nesterov (Sutskever et al. 2013) takes the gradient at the look-ahead point θ + μv; PyTorch's "
            "nesterov=True takes it at θ and steps along g + μ·b: the same method written for a shifted variable "
            "(θ' = θ + μv), so the two sequences of iterates differ."
        )
    elif textbook:
        rule = "v₀ = 0, v_t = β·v_{t−1} + (1 − β)·g_t, θ_t = θ_{t−1} − η·v_t (β = μ)"
        notes.append(
            "PyTorch's buffer starts at b₁ = g₁ (not (1 − β)g₁) and adds (1 − dampening)·g, all of g by default: it is "
            "about 1/(1 − β) times the textbook v, so PyTorch's η·b matches the textbook's with η_textbook = η/(1 − β)."
        )
    elif opt == "nesterov":
        rule = "b₁ = g₁, b_t = μ·b_{t−1} + g_t, θ_t = θ_{t−1} − η·(g_t + μ·b_t)"
    elif momentum:
        damp = "(1 − τ)·g_t" if config.dampening else "g_t"
        rule = f"b₁ = g₁ (the buffer starts as the first gradient), b_t = μ·b_{{t−1}} + {damp}, θ_t = θ_{{t−1}} − η·b_t"
    elif opt == "adagrad":
        clr = "η_t = η/(1 + (t − 1)·lr_decay)" if config.lr_decay else "η_t = η"
        rule = f"s_t = s_{{t−1}} + g_t², {clr}, θ_t = θ_{{t−1}} − η_t·g_t/(√s_t + ε)"
    elif opt == "rmsprop":
        rule = "v_t = α·v_{t−1} + (1 − α)·g_t²"
        if config.centered:
            rule += ", ḡ_t = α·ḡ_{t−1} + (1 − α)·g_t, a_t = √(v_t − ḡ_t²) + ε"
        else:
            rule += ", a_t = √v_t + ε"
        if config.momentum:
            rule += ", b_t = μ·b_{t−1} + g_t/a_t (b₀ = 0), θ_t = θ_{t−1} − η·b_t"
        else:
            rule += ", θ_t = θ_{t−1} − η·g_t/a_t"
        notes.append("PyTorch adds ε outside the square root.")
    else:
        second = "v_t"
        rule = "m_t = β₁·m_{t−1} + (1 − β₁)·g_t, v_t = β₂·v_{t−1} + (1 − β₂)·g_t²"
        if config.amsgrad:
            rule += ", v_max,t = max(v_max,t−1, v_t)"
            second = "v_max,t"
        rule += f", m̂_t = m_t/(1 − β₁ᵗ), v̂_t = {second}/(1 − β₂ᵗ), θ_t = θ_{{t−1}} − η·m̂_t/(√v̂_t + ε)"
        if opt == "adamw" and config.weight_decay:
            rule = "θ' = θ_{t−1}·(1 − ηλ) (decoupled decay, first), then " + rule.replace("θ_{t−1} − η", "θ' − η")
        if textbook:
            notes.append("Computed with m̂ and v̂ as written; PyTorch's form gives the same values up to rounding.")
        else:
            notes.append(
                "PyTorch folds the corrections into the step, θ − (η/(1 − β₁ᵗ))·m/(√v/√(1 − β₂ᵗ) + ε): the same value "
                "(ε after the square root of the bias-corrected v̂)."
            )
        if opt == "adamw" and textbook:
            notes.append(
                "Loshchilov and Hutter write the decay as η_t·λθ with a schedule multiplier η_t: "
                "PyTorch's λ is theirs divided by η."
            )
    if config.weight_decay and opt != "adamw":
        rule = "g_t = ∇f(θ_{t−1}) + λ·θ_{t−1} (coupled weight decay); " + rule
    return rule, notes


def rule_text(config: rules.Config, names: str, given: bool, function: str | None, arithmetic: str) -> str:
    """The rule, its hyper-parameters, the gradient source and the arithmetic (``"exact arithmetic"``, ...)."""
    rule, notes = _rule(config)
    source = "gradients given, one row per step" if given else f"f = {function}, g_t = ∇f at the current point"
    lines = [
        f"{rules.TORCH_CLASS[config.opt]} ({config.convention} convention) on θ = ({names}):",
        rule,
        f"{_hyper(config)}; {source}; {arithmetic}.",
    ]
    return "\n".join(lines + notes)


def rule_latex(config: rules.Config) -> str:
    """The rule as :func:`_rule` writes it (the same names and words), so a key writes it once."""
    opt, textbook = config.opt, config.textbook
    momentum = opt in ("momentum", "nesterov") or (opt == "sgd" and config.momentum)
    if not momentum and opt == "sgd":
        lines = [r"\theta_t = \theta_{t-1} - \eta\, g_t"]
    elif textbook and opt == "nesterov":
        lines = [
            r"v_0 = 0,\quad v_t = \mu v_{t-1} - \eta\, g_t\ \text{with } g_t = \nabla f(\theta_{t-1} + \mu v_{t-1})"
            r"\ \text{(the look-ahead point)},\quad \theta_t = \theta_{t-1} + v_t"
        ]
    elif textbook:
        lines = [
            r"v_0 = 0,\quad v_t = \beta v_{t-1} + (1 - \beta) g_t,\quad "
            r"\theta_t = \theta_{t-1} - \eta v_t\ (\beta = \mu)"
        ]
    elif opt == "nesterov":
        lines = [r"b_1 = g_1,\quad b_t = \mu b_{t-1} + g_t,\quad \theta_t = \theta_{t-1} - \eta (g_t + \mu b_t)"]
    elif momentum:
        damp = r"(1 - \tau) g_t" if config.dampening else "g_t"
        lines = [
            r"b_1 = g_1\ \text{(the buffer starts as the first gradient)},\quad "
            rf"b_t = \mu b_{{t-1}} + {damp},\quad \theta_t = \theta_{{t-1}} - \eta b_t"
        ]
    elif opt == "adagrad":
        clr = r"\eta_t = \frac{\eta}{1 + (t - 1)\,\text{lr\_decay}}" if config.lr_decay else r"\eta_t = \eta"
        lines = [
            rf"s_t = s_{{t-1}} + g_t^2,\quad {clr},\quad "
            r"\theta_t = \theta_{t-1} - \frac{\eta_t\, g_t}{\sqrt{s_t} + \epsilon}"
        ]
    elif opt == "rmsprop":
        first = r"v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2"
        if config.centered:
            first += (
                r",\quad \bar g_t = \alpha \bar g_{t-1} + (1 - \alpha) g_t,\quad "
                r"a_t = \sqrt{v_t - \bar g_t^2} + \epsilon"
            )
        else:
            first += r",\quad a_t = \sqrt{v_t} + \epsilon"
        second = (
            r"b_t = \mu b_{t-1} + \frac{g_t}{a_t}\ (b_0 = 0),\quad \theta_t = \theta_{t-1} - \eta b_t"
            if config.momentum
            else r"\theta_t = \theta_{t-1} - \eta \frac{g_t}{a_t}"
        )
        lines = [first, second]
    else:
        second = r"v_{\max,t}" if config.amsgrad else "v_t"
        lines = [r"m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2"]
        if config.amsgrad:
            lines[0] += r",\quad v_{\max,t} = \max(v_{\max,t-1}, v_t)"
        start = r"\theta'" if opt == "adamw" and config.weight_decay else r"\theta_{t-1}"
        lines.append(
            rf"\hat m_t = \frac{{m_t}}{{1 - \beta_1^t}},\quad \hat v_t = \frac{{{second}}}{{1 - \beta_2^t}},\quad "
            rf"\theta_t = {start} - \eta \frac{{\hat m_t}}{{\sqrt{{\hat v_t}} + \epsilon}}"
        )
        if opt == "adamw" and config.weight_decay:
            lines.insert(0, r"\theta' = \theta_{t-1}(1 - \eta\lambda)\ \text{(decoupled decay, first), then}")
    if config.weight_decay and opt != "adamw":
        lines.insert(0, r"g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}\ \text{(coupled weight decay)}")
    return lines[0] if len(lines) == 1 else r"\begin{gathered} " + r" \\ ".join(lines) + r" \end{gathered}"


# --------------------------------------------------------------------------- step 1


def _exact_first_gradient(config: rules.Config, theta0: Any, grads: list[list[Any]] | None) -> list[Fraction] | None:
    """g₁ (with coupled decay) exactly, when the given first row and θ₀ are exact."""
    if grads is None or not all(fmt.is_exact(v) for v in grads[0]) or not all(fmt.is_exact(v) for v in theta0):
        return None
    decay = config.weight_decay if config.opt != "adamw" else 0
    if not fmt.is_exact(decay):
        return None
    return [Fraction(g) + Fraction(decay) * Fraction(t) for g, t in zip(grads[0], theta0, strict=True)]


def _roots(radicands: list[Fraction]) -> str | None:
    """``[√2 ≈ 1.41421, 3]`` when every square root has an exact form."""
    roots = [surds.sqrt(r) for r in radicands]
    if any(root is None for root in roots):
        return None
    shown = [root.text() for root in roots if root is not None]
    return shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"


def first_step_text(
    config: rules.Config,
    theta0: Any,
    shown: dict[str, Any],
    loss: Any,
    grads: list[list[Any]] | None,
    vector: Callable[[Any], str],
    start: list[Any],
) -> str:
    """The rule with step 1's numbers substituted (``start``: θ₀ as given, exact where it was)."""
    opt, textbook = config.opt, config.textbook
    v = vector
    theta1 = [t + d for t, d in zip(theta0, shown["update"], strict=True)]
    lr = _n(config.lr)
    lines = []
    if loss is not None:
        lines.append(f"f(θ₀) = {_n(loss)}")
    g_exact = _exact_first_gradient(config, start, grads)
    lines.append(f"g₁ = {v(shown['grad'])}" + (" (with λ·θ₀)" if config.weight_decay and opt != "adamw" else ""))
    momentum = opt in ("momentum", "nesterov") or (opt == "sgd" and config.momentum)
    if not momentum and opt == "sgd":
        lines.append(f"θ₁ = θ₀ − η·g₁ = {v(theta0)} − {lr}·{v(shown['grad'])} = {v(theta1)}")
    elif textbook and opt == "nesterov":
        lines.insert(0, f"look-ahead point θ₀ + μ·v₀ = θ₀ = {v(shown['lookahead'])}")
        lines.append(f"v₁ = μ·0 − η·g₁ = −{lr}·{v(shown['grad'])} = {v(shown['velocity'])}")
        lines.append(f"θ₁ = θ₀ + v₁ = {v(theta1)}")
    elif textbook:
        lines.append(f"v₁ = β·0 + (1 − β)·g₁ = {_n(1 - config.momentum)}·{v(shown['grad'])} = {v(shown['velocity'])}")
        lines.append(f"θ₁ = θ₀ − η·v₁ = {v(theta0)} − {lr}·{v(shown['velocity'])} = {v(theta1)}")
    elif momentum:
        lines.append(f"b₁ = g₁ = {v(shown['momentum_buffer'])} (the buffer starts as the first gradient)")
        if opt == "nesterov":
            lines.append(
                f"θ₁ = θ₀ − η·(g₁ + μ·b₁) = {v(theta0)} − {lr}·({v(shown['grad'])} + {_n(config.momentum)}·"
                f"{v(shown['momentum_buffer'])}) = {v(theta1)}"
            )
        else:
            lines.append(f"θ₁ = θ₀ − η·b₁ = {v(theta0)} − {lr}·{v(shown['momentum_buffer'])} = {v(theta1)}")
    elif opt == "adagrad":
        lines.append(f"s₁ = s₀ + g₁² = {_n(config.initial_accumulator)} + {v(shown['grad'])}² = {v(shown['sum'])}")
        roots = None
        if g_exact is not None and fmt.is_exact(config.initial_accumulator):
            roots = _roots([Fraction(config.initial_accumulator) + g * g for g in g_exact])
            if roots:
                lines.append(f"√s₁ = {roots}")
        # √s₁ by its value when it was written out (never √[4, 1]); ε as 10⁻¹⁰
        root = roots or f"√{v(shown['sum'])}"
        lines.append(
            f"θ₁ = θ₀ − η·g₁/(√s₁ + ε) = {v(theta0)} − {lr}·{v(shown['grad'])}/({root} + "
            f"{small(config.eps)}) = {v(theta1)}"
        )
    elif opt == "rmsprop":
        lines.append(f"v₁ = (1 − α)·g₁² = {_n(1 - config.alpha)}·{v(shown['grad'])}² = {v(shown['square_avg'])}")
        if g_exact is not None and fmt.is_exact(config.alpha) and not config.centered:
            roots = _roots([(1 - Fraction(config.alpha)) * g * g for g in g_exact])
            if roots:
                lines.append(f"√v₁ = {roots}")
        if config.centered:
            lines.append(f"ḡ₁ = (1 − α)·g₁ = {v(shown['grad_avg'])}, a₁ = √(v₁ − ḡ₁²) + ε = {v(shown['avg'])}")
        else:
            lines.append(f"a₁ = √v₁ + ε = {v(shown['avg'])} (ε outside the square root)")
        if config.momentum:
            lines.append(f"b₁ = g₁/a₁ = {v(shown['momentum_buffer'])}, θ₁ = θ₀ − η·b₁ = {v(theta1)}")
        else:
            lines.append(f"θ₁ = θ₀ − η·g₁/a₁ = {v(theta0)} − {lr}·{v(shown['grad'])}/{v(shown['avg'])} = {v(theta1)}")
    else:
        if opt == "adamw" and config.weight_decay:
            lines.append(f"θ' = θ₀·(1 − ηλ) = {v(theta0)}·{_n(1 - config.lr * config.weight_decay)} (decoupled decay)")
        lines.append(f"m₁ = (1 − β₁)·g₁ = {_n(1 - config.beta1)}·{v(shown['grad'])} = {v(shown['exp_avg'])}")
        lines.append(f"v₁ = (1 − β₂)·g₁² = {_n(1 - config.beta2)}·{v(shown['grad'])}² = {v(shown['exp_avg_sq'])}")
        lines.append(
            f"m̂₁ = m₁/(1 − β₁) = {v(shown['m_hat'])}, v̂₁ = v₁/(1 − β₂) = {v(shown['v_hat'])} "
            "(at step 1 the corrections give back m̂ = g and v̂ = g²)"
        )
        if g_exact is not None:
            roots = _roots([g * g for g in g_exact])
            if roots:
                lines.append(f"√v̂₁ = |g₁| = {roots}")
        start = "θ'" if opt == "adamw" and config.weight_decay else "θ₀"
        lines.append(f"θ₁ = {start} − η·m̂₁/(√v̂₁ + ε) = {v(theta1)} (a step of about η = {lr} against the sign of g)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- weight decay


def weight_decay_step(config: rules.Config) -> Step:
    """Coupled decay is an L2 penalty λ/2·‖θ‖²; AdamW's decoupled decay is not."""
    lam, lr = _n(config.weight_decay), _n(config.lr)
    half = _n(config.weight_decay / 2)
    shrink = _n(1 - config.lr * config.weight_decay)
    if config.opt == "adamw":
        text = (
            f"AdamW: θ_t = θ_{{t−1}}·(1 − ηλ) − η·m̂_t/(√v̂_t + ε), with 1 − ηλ = 1 − {lr}·{lam} = {shrink}. "
            "The decay bypasses m and v. Adam on f + (λ/2)‖θ‖² would add λθ to g, and that term would be divided by "
            "√v̂ + ε like the rest of g: coordinates with large gradients would be decayed less. AdamW shrinks every "
            "coordinate by the same factor whatever its gradient history, so its step is not Adam's step on any fixed "
            "L2-regularised loss (Loshchilov and Hutter 2019). Only for plain SGD are the two forms the same."
        )
        # the text's formula and numbers, in its names: the key writes it once
        latex = (
            r"\text{AdamW: } \theta_t = \theta_{t-1}(1 - \eta\lambda) "
            r"- \eta \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}"
            + rf"\ \text{{with }} 1 - \eta\lambda = 1 - {lr}\cdot {lam} = {shrink}"
        )
    else:
        text = (
            f"g = ∇f(θ) + λθ = ∇(f(θ) + (λ/2)‖θ‖²): weight decay λ = {lam} adds the gradient of the L2 penalty "
            f"(λ/2)‖θ‖², coefficient λ/2 = {half}."
        )
        if config.opt in ("sgd", "momentum", "nesterov"):
            text += (
                f" So {config.opt} with weight decay is {config.opt} on f + {half}·‖θ‖². For plain SGD the step is "
                f"θ_t = θ_{{t−1}} − η(∇f + λθ_{{t−1}}) = (1 − ηλ)θ_{{t−1}} − η∇f: "
                f"each step shrinks θ by 1 − ηλ = {shrink} "
                "before the gradient step."
            )
        else:
            text += (
                f" So {config.opt} with weight decay is {config.opt} on f + {half}·‖θ‖², but the penalty's gradient is "
                "then divided by the adaptive denominator like the rest of g: coordinates with large gradients are "
                "decayed less (AdamW's decoupled decay avoids this)."
            )
        latex = r"\nabla f(\theta) + \lambda\theta = \nabla\Big(f(\theta) + \frac{\lambda}{2}\|\theta\|^2\Big)"
    return Step("Weight decay", text, latex=latex, kind="optim.weight-decay")
