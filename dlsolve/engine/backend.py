"""The two arithmetics the engine computes in: float64 NumPy arrays and exact object arrays.

Every value is a NumPy array (0-d for a scalar). The float backend holds float64 arrays and uses
NumPy's ufuncs. The exact backend holds object arrays whose entries are :class:`fractions.Fraction`
while the values stay rational, and SymPy expressions once ``exp``, ``log``, ``sqrt``, ``sigmoid``,
``tanh``, ``sin``, ``cos`` or a fractional power make them irrational (kept symbolic, shown with a
decimal beside). SymPy is imported only when an irrational value appears; a rational SymPy result
(``log(1) = 0``, ``sqrt(1/4) = 1/2``) goes back to a Fraction.

Operations (``dlsolve.engine.ops``) are written once against this interface: NumPy's arithmetic,
``matmul``, ``where`` and reductions work on object arrays too.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any

#: PyTorch's binary_cross_entropy clamps each log term at -100.
BCE_LOG_FLOOR = -100
#: PyTorch's binary_cross_entropy backward divides by max(p (1 - p), 1e-12).
BCE_EPSILON = Fraction(1, 10**12)
#: PyTorch's softplus is linear above this threshold (beta = 1).
SOFTPLUS_THRESHOLD = 20


class FloatBackend:
    """float64 NumPy arrays and ufuncs."""

    exact = False

    def __init__(self) -> None:
        import numpy as np

        self.np = np
        self.ndarray = np.ndarray
        self.float64 = np.dtype(np.float64)
        self.exp = np.exp
        self.sqrt = np.sqrt
        self.sin = np.sin
        self.cos = np.cos
        self.tanh = np.tanh
        self.sign = np.sign

    def log(self, x: Any) -> Any:
        return self.np.log(x)

    def num(self, value: Fraction | int | float) -> float:
        return float(value)

    def asarray(self, value: Any) -> Any:
        if type(value) is self.ndarray and value.dtype == self.float64:
            return value
        return self.np.asarray(value, dtype=self.np.float64)

    def sigmoid(self, x: Any) -> Any:
        return 1.0 / (1.0 + self.np.exp(-x))

    def softplus(self, x: Any) -> Any:
        np = self.np
        return np.where(x > SOFTPLUS_THRESHOLD, x, np.log1p(np.exp(np.minimum(x, SOFTPLUS_THRESHOLD))))

    def softplus_grad(self, x: Any) -> Any:
        return self.np.where(x > SOFTPLUS_THRESHOLD, 1.0, self.sigmoid(x))

    def pow(self, a: Any, b: Any) -> Any:
        return self.np.power(a, b)

    def pow_grad_base(self, a: Any, b: Any) -> Any:
        np = self.np
        return np.where(b == 0, 0.0, b * np.power(a, b - 1))

    def pow_grad_exponent(self, a: Any, b: Any, out: Any) -> Any:
        np = self.np
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((a == 0) & (b >= 0), 0.0, out * np.log(a))

    def clamped_log(self, x: Any) -> Any:
        np = self.np
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(x), BCE_LOG_FLOOR)

    def bce_denominator(self, p: Any) -> Any:
        return self.np.maximum(p * (1 - p), float(BCE_EPSILON))

    def logaddexp_form(self, z: Any) -> Any:
        """log(1 + exp(-z)), stably (PyTorch's binary_cross_entropy_with_logits)."""
        np = self.np
        return np.logaddexp(0.0, -z)

    def finite(self, value: Any) -> bool:
        return bool(self.np.all(self.np.isfinite(value)))


# --------------------------------------------------------------------------- exact scalars

#: Largest exact SymPy value kept (tree nodes); beyond it the exact path gives up (:class:`ExactTooLarge`).
MAX_EXACT_NODES = 300
#: Largest numerator or denominator of an exact Fraction kept, in bits.
MAX_EXACT_BITS = 4096


class ExactTooLarge(Exception):
    """An exact value grew past :data:`MAX_EXACT_NODES`: the caller should use the float path."""


@functools.lru_cache(maxsize=65536)
def _tree_size(expr: Any) -> int:
    return 1 + sum(_tree_size(arg) for arg in expr.args)


@functools.cache
def _sympy() -> Any:
    import sympy

    return sympy


def to_sympy(value: Any) -> Any:
    """A Fraction or int as a SymPy Rational; SymPy values unchanged."""
    if isinstance(value, Fraction | int):
        return _sympy().Rational(int(Fraction(value).numerator), int(Fraction(value).denominator))
    return value


def from_sympy(value: Any) -> Any:
    """A rational SymPy value back to a Fraction; others unchanged."""
    if isinstance(value, Fraction | int):
        return Fraction(value)
    if getattr(value, "is_Rational", False):
        return Fraction(int(value.p), int(value.q))
    return value


def exact_exp(x: Any) -> Any:
    if x == 0:
        return Fraction(1)
    return from_sympy(_sympy().exp(to_sympy(x)))


def exact_log(x: Any) -> Any:
    if x == 1:
        return Fraction(0)
    return from_sympy(_sympy().log(to_sympy(x)))


def _rational_sqrt(x: Fraction) -> Fraction | None:
    if x < 0:
        return None
    top, bottom = math.isqrt(x.numerator), math.isqrt(x.denominator)
    if top * top == x.numerator and bottom * bottom == x.denominator:
        return Fraction(top, bottom)
    return None


def exact_sqrt(x: Any) -> Any:
    if isinstance(x, Fraction):
        root = _rational_sqrt(x)
        if root is not None:
            return root
    return from_sympy(_sympy().sqrt(to_sympy(x)))


#: Largest whole exponent computed exactly (``9**9**9`` would never finish).
MAX_EXACT_EXPONENT = 1024


def exact_pow(a: Any, b: Any) -> Any:
    if abs(b) > MAX_EXACT_EXPONENT:
        raise ExactTooLarge(f"an exponent larger than {MAX_EXACT_EXPONENT} in magnitude")
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        if b.denominator == 1:
            return a ** int(b)
        if b.denominator == 2 and a >= 0:
            root = _rational_sqrt(a)
            if root is not None:
                return root ** int(b.numerator)
    return from_sympy(to_sympy(a) ** to_sympy(b))


@functools.cache
def sigmoid_function() -> Any:
    """σ as a SymPy function, kept unevaluated so the board reads σ(2) rather than 1/(1 + e⁻²).

    σ(0) = 1/2; σ' = σ(1 − σ); numeric values, comparisons and ``rewrite(exp)`` (what the JSON's
    exact strings use, so that SymPy can parse them back) go through 1/(1 + e^(−x)).
    """
    sp = _sympy()

    class sigmoid(sp.Function):
        is_real = True

        def _value_at(cls, x: Any) -> Any:
            return sp.Rational(1, 2) if x.is_zero else None

        # SymPy's hook for a function's known values is a classmethod named ``eval`` (not Python's).
        eval = classmethod(_value_at)

        def fdiff(self, argindex: int = 1) -> Any:
            return self * (1 - self)

        def _eval_rewrite_as_exp(self, x: Any, **kwargs: Any) -> Any:
            return 1 / (1 + sp.exp(-x))

        def _eval_evalf(self, prec: int) -> Any:
            return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)

        def _eval_is_positive(self) -> bool:
            return True

        def _latex(self, printer: Any, exp: Any = None) -> str:
            # SymPy's power printer passes the exponent of σ(x)² here: σ^{2}(x), as it writes sin²(x)
            power = "" if exp is None else "^{" + str(exp) + "}"
            return r"\sigma" + power + r"\left(" + printer._print(self.args[0]) + r"\right)"

    return sigmoid


def exact_sigmoid(x: Any) -> Any:
    if x == 0:
        return Fraction(1, 2)
    return from_sympy(sigmoid_function()(to_sympy(x)))


def exact_tanh(x: Any) -> Any:
    return Fraction(0) if x == 0 else from_sympy(_sympy().tanh(to_sympy(x)))


def exact_sin(x: Any) -> Any:
    return Fraction(0) if x == 0 else from_sympy(_sympy().sin(to_sympy(x)))


def exact_cos(x: Any) -> Any:
    return Fraction(1) if x == 0 else from_sympy(_sympy().cos(to_sympy(x)))


def exact_softplus(x: Any) -> Any:
    return exact_log(1 + exact_exp(x))


def exact_sign(x: Any) -> Fraction:
    return Fraction((x > 0) - (x < 0))


def exact_clamped_log(x: Any) -> Any:
    return Fraction(BCE_LOG_FLOOR) if x == 0 else exact_log(x)


def exact_pow_grad_base(a: Any, b: Any) -> Any:
    return Fraction(0) if b == 0 else b * exact_pow(a, b - 1)


def exact_pow_grad_exponent(a: Any, b: Any, out: Any) -> Any:
    return Fraction(0) if a == 0 and b >= 0 else out * exact_log(a)


@functools.cache
def exact_array_class() -> type:
    """An object-array subclass whose operations keep 0-d results as arrays.

    NumPy returns a bare Python object (a Fraction) from an operation on 0-d object arrays, which
    has no ``shape`` or ``sum``; this subclass keeps every result an array, so the operations are
    written once for both backends.
    """
    import numpy as np

    class ExactArray(np.ndarray):
        def __array_wrap__(self, obj: Any, context: Any = None, return_scalar: bool = False) -> Any:
            return np.ndarray.__array_wrap__(self, obj, context, False)

    return ExactArray


class ExactBackend:
    """Object arrays of Fractions and SymPy expressions (see the module docstring)."""

    exact = True

    def __init__(self) -> None:
        import numpy as np

        self.np = np
        self._functions: dict[str, Any] = {}
        self._array = exact_array_class()

    def _apply(self, function: Any, *args: Any) -> Any:
        ufunc = self._functions.get(function.__name__)
        if ufunc is None:
            ufunc = self._functions[function.__name__] = self.np.frompyfunc(function, len(args), 1)
        return self.asarray(ufunc(*args))

    def num(self, value: Fraction | int | float) -> Fraction:
        return Fraction(value)

    def asarray(self, value: Any) -> Any:
        return self.np.asarray(value, dtype=object).view(self._array)

    def exp(self, x: Any) -> Any:
        return self._apply(exact_exp, x)

    def log(self, x: Any) -> Any:
        return self._apply(exact_log, x)

    def sqrt(self, x: Any) -> Any:
        return self._apply(exact_sqrt, x)

    def sin(self, x: Any) -> Any:
        return self._apply(exact_sin, x)

    def cos(self, x: Any) -> Any:
        return self._apply(exact_cos, x)

    def tanh(self, x: Any) -> Any:
        return self._apply(exact_tanh, x)

    def sigmoid(self, x: Any) -> Any:
        return self._apply(exact_sigmoid, x)

    def sign(self, x: Any) -> Any:
        return self._apply(exact_sign, x)

    def softplus(self, x: Any) -> Any:
        return self._apply(exact_softplus, x)

    def softplus_grad(self, x: Any) -> Any:
        return self.sigmoid(x)

    def pow(self, a: Any, b: Any) -> Any:
        return self._apply(exact_pow, a, b)

    def pow_grad_base(self, a: Any, b: Any) -> Any:
        return self._apply(exact_pow_grad_base, a, b)

    def pow_grad_exponent(self, a: Any, b: Any, out: Any) -> Any:
        return self._apply(exact_pow_grad_exponent, a, b, out)

    def clamped_log(self, x: Any) -> Any:
        return self._apply(exact_clamped_log, x)

    def bce_denominator(self, p: Any) -> Any:
        product = p * (1 - p)
        return self.np.where(product == 0, BCE_EPSILON, product)

    def logaddexp_form(self, z: Any) -> Any:
        return self.log(1 + self.exp(-z))

    def check_size(self, value: Any) -> None:
        """Raise :class:`ExactTooLarge` when an entry of ``value`` is a SymPy tree too large to keep."""
        for entry in self.np.asarray(value, dtype=object).flat:
            if isinstance(entry, Fraction):
                if max(entry.numerator.bit_length(), entry.denominator.bit_length()) > MAX_EXACT_BITS:
                    raise ExactTooLarge(f"an exact value has more than {MAX_EXACT_BITS} bits")
            elif _tree_size(entry) > MAX_EXACT_NODES:
                raise ExactTooLarge(f"an exact value has more than {MAX_EXACT_NODES} terms")

    def finite(self, value: Any) -> bool:
        for entry in self.np.asarray(value, dtype=object).flat:
            if not isinstance(entry, Fraction) and entry.is_finite is False:
                return False
        return True


@functools.cache
def backend(exact: bool) -> FloatBackend | ExactBackend:
    """The shared backend instance for ``exact`` (True) or float64 (False) arithmetic."""
    return ExactBackend() if exact else FloatBackend()
