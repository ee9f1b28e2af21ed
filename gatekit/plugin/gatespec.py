"""What a gate declares about itself: :class:`GateSpec` and :class:`Attr`.

A gate plugin returns a :class:`GateSpec` from its ``gate_spec`` hook. The
loader uses it to check every use of the gate in a circuit (input count,
attribute names and values) before anything runs, so the hot loop never has
to.

Examples
--------
>>> spec = GateSpec("add", arity=2, variadic=True, doc="Sum of the inputs.")
>>> spec.arity_text
'2+'
>>> spec.accepts(3)
True
>>> leaky = GateSpec("leaky_relu", 1, "Leaky ReLU.", attrs={"slope": Attr(0.01, "negative slope")})
>>> leaky.attrs["slope"].convert(0.2)
0.2
>>> matmul = GateSpec("matmul", 2, "Matrix product.", examples=[[(2, 3), (3,)]])
>>> matmul.examples
(((2, 3), (3,)),)
>>> GateSpec("mul", 2, "Product.", variadic=True, symbol="*", infix=True).written(["w0", "x0"])
'w0 * x0'
>>> GateSpec("reciprocal", 1, "1 / a.", symbol="1/x", prefix="1/").written(["den"])
'1/(den)'
>>> GateSpec("exp", 1, "e ** a.").written(["neg"])
'exp(neg)'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from gatekit.errors import PLUGIN_FAULTS, describe_exception
from gatekit.names import is_name

__all__ = ["POSITIVE", "REAL", "Attr", "Example", "GateSpec", "Interval", "describe", "integral", "number"]

Interval = tuple[float, float]
Shape = tuple[int, ...]
#: One shape per input: where :attr:`GateSpec.examples` checks a gradient.
Example = tuple[Shape, ...]
#: Domains for :attr:`GateSpec.domain`: where random gradient checks sample.
REAL: Interval = (-3.0, 3.0)
POSITIVE: Interval = (0.1, 3.0)


def integral(value: object) -> int | None:
    """``value`` as an int if it is an integral number (YAML gives ``1.0``), else None.

    >>> integral(2.0), integral(-1), integral(True), integral(2.5), integral("2")
    (2, -1, None, None, None)
    """
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return None


def describe(value: object) -> str:
    """A short phrase for a value read from a circuit file, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return "a list" if hasattr(value, "shape") or isinstance(value, list) else type(value).__name__


def number(value: object) -> float:
    """Convert an attribute value to a finite float, or raise ``ValueError``.

    >>> number(2)
    2.0
    >>> number(True)
    Traceback (most recent call last):
    ...
    ValueError: expected a number, got a boolean (True)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {describe(value)}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"expected a finite number, got {result!r}")
    return result


@dataclass(frozen=True, slots=True)
class Attr:
    """One setting a gate accepts in ``attrs:``, with its default.

    ``check`` converts a value read from the circuit file and raises
    ``ValueError`` (with a short reason) when the value is not acceptable.
    """

    default: object
    doc: str = ""
    check: Callable[[object], object] = number

    def convert(self, value: object) -> object:
        """Return ``value`` converted by ``check``; ``ValueError`` if invalid."""
        return self.check(value)


@dataclass(frozen=True, slots=True)
class GateSpec:
    """A gate's name, input count, attributes and one-line doc.

    ``arity`` is the exact number of inputs, or the minimum when ``variadic``.
    ``domain`` says where the gate is defined and smooth enough to check its
    gradient at random points: one ``(low, high)`` interval for every input,
    or a tuple of intervals, one per input (the last one repeats for extra
    variadic inputs). ``examples`` lists the input shapes to check the
    gradient at, for gates whose inputs must have particular shapes (a matrix
    product): each item is one shape per input, ``()`` being a Python float,
    and the last shape repeats for extra variadic inputs. Without examples,
    every input is checked as a float and as a small vector. Neither
    ``domain`` nor ``examples`` changes anything when a circuit runs.

    ``elementwise`` says that each element of the output depends only on the
    same element of the (broadcast) inputs, and each local gradient likewise,
    with the hooks taking floats and float64 arrays alike (the built-in
    arithmetic, elementary and activation gates). The engine may then run
    many uses of the gate as one call on vectors (see
    :mod:`gatekit.engine.batching`), and ``gatekit.testing.check_gate``
    checks that such a call gives what the uses give one by one. Gates with
    ``gate_vjp`` are never batched, whatever they say.

    ``symbol``, ``infix`` and ``prefix`` say how drawings and explanations
    write the gate; none of them changes what it computes. ``symbol`` is
    drawn inside the gate's node (``"*"``, ``"1/x"``; default: the name).
    With ``infix`` an explanation writes the symbol between the inputs
    (``w0 * x0``); with a ``prefix`` before the one input (``1/(den)``);
    otherwise as a function (``exp(neg)``).
    """

    name: str
    arity: int
    doc: str
    variadic: bool = False
    attrs: Mapping[str, Attr] = field(default_factory=dict)
    domain: Interval | tuple[Interval, ...] = REAL
    examples: tuple[Example, ...] = ()
    symbol: str = ""
    infix: bool = False
    prefix: str = ""
    elementwise: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))
        object.__setattr__(self, "examples", _as_tuples(self.examples))

    def interval(self, position: int) -> Interval:
        """The domain of input ``position`` (counting from 0).

        >>> GateSpec("pow", 2, "a ** b", domain=(POSITIVE, REAL)).interval(0)
        (0.1, 3.0)
        """
        domain = self.domain
        if isinstance(domain[0], tuple):  # one interval per input, the last repeated
            return domain[min(position, len(domain) - 1)]
        return domain

    @property
    def arity_text(self) -> str:
        """The arity as users read it: ``"2"`` or ``"2+"``."""
        return f"{self.arity}+" if self.variadic else str(self.arity)

    def accepts(self, count: int) -> bool:
        """Whether the gate can take ``count`` inputs."""
        return count >= self.arity if self.variadic else count == self.arity

    @property
    def drawn(self) -> str:
        """What a drawing shows inside the gate's node: its symbol, or else its name."""
        return self.symbol or self.name

    def written(self, inputs: Sequence[str], settings: Sequence[str] = ()) -> str:
        """The gate applied to ``inputs`` (already written out), as an explanation writes it.

        ``settings`` are attributes written as ``key=value``; a gate with
        settings is always written as a function, so none is lost.
        """
        if self.infix and not settings:
            return f" {self.symbol} ".join(inputs)
        if self.prefix and len(inputs) == 1 and not settings:
            return f"{self.prefix}({inputs[0]})"
        return f"{self.name}({', '.join([*inputs, *settings])})"

    def problems(self) -> list[str]:
        """What is wrong with this spec, as readable phrases (empty if fine)."""
        found = []
        if not is_name(self.name):
            found.append(f"gate name {self.name!r} is not a valid name")
        if isinstance(self.arity, bool) or not isinstance(self.arity, int) or self.arity < 1:
            found.append(f"arity must be an integer of at least 1, got {self.arity!r}")
        if not isinstance(self.doc, str) or not self.doc.strip():
            found.append("doc must be a non-empty one-line string")
        for key, attr in self.attrs.items():
            if not is_name(key):
                found.append(f"attribute name {key!r} is not a valid name")
            if not isinstance(attr, Attr):
                found.append(f"attribute {key!r} must be a gatekit.Attr")
            elif not callable(attr.check):
                kind = type(attr.check).__name__
                found.append(f"attribute {key!r}: its check must be callable, not {kind}")
            else:
                found += _check_problems(key, attr)
        intervals = self.domain if self.domain and isinstance(self.domain[0], tuple) else (self.domain,)
        for interval in intervals:
            if not _is_interval(interval):
                found.append(
                    "domain must be (low, high) with low < high, or one such pair per input; "
                    f"got {self.domain!r}"
                )
                break
        found += self._example_problems()
        found += self._notation_problems()
        return found

    def _notation_problems(self) -> list[str]:
        found = []
        if not isinstance(self.symbol, str) or "\n" in self.symbol:
            found.append(f"symbol must be one line of text, got {self.symbol!r}")
        if not isinstance(self.prefix, str) or "\n" in self.prefix:
            found.append(f"prefix must be one line of text, got {self.prefix!r}")
        if not isinstance(self.infix, bool):
            found.append(f"infix must be True or False, got {self.infix!r}")
        elif self.infix and not self.symbol:
            found.append("an infix gate needs a symbol to write between its inputs")
        if not isinstance(self.elementwise, bool):
            found.append(f"elementwise must be True or False, got {self.elementwise!r}")
        if self.infix and self.prefix:
            found.append("a gate is written infix or with a prefix, not both")
        if self.prefix and (self.variadic or self.arity != 1):
            found.append("only a gate of one input can be written with a prefix")
        return found

    def _example_problems(self) -> list[str]:
        examples = self.examples
        expected = f"at least {self.arity}" if self.variadic else str(self.arity)
        if not isinstance(examples, tuple) or not all(isinstance(e, tuple) for e in examples):
            return [f"examples must be a tuple of examples (one shape per input), got {examples!r}"]
        arity_known = isinstance(self.arity, int) and not isinstance(self.arity, bool)
        found = []
        for example in examples:
            if not all(_is_shape(shape) for shape in example):
                found.append(
                    f"example {example!r} must hold shapes: tuples of positive integers, () for a float"
                )
            elif arity_known and not self.accepts(len(example)):
                found.append(f"example {example!r} has {len(example)} shape(s); the gate takes {expected}")
        return found


def _check_problems(key: str, attr: Attr) -> list[str]:
    """Try an attribute's check on its default: it may refuse it (ValueError), but not break."""
    try:
        attr.check(attr.default)
    except (ValueError, TypeError):
        pass  # a default the check does not take (None for "not given") is the gate's choice
    except PLUGIN_FAULTS as exc:
        raised = describe_exception(exc)
        return [f"attribute {key!r}: its check raised {raised} on the default {attr.default!r}"]
    return []


def _as_tuples(examples: object) -> object:
    """``examples`` written with lists, as nested tuples; anything else unchanged."""
    if not isinstance(examples, list | tuple):
        return examples
    converted = []
    for example in examples:
        if not isinstance(example, list | tuple):
            return examples
        converted.append(tuple(tuple(s) if isinstance(s, list | tuple) else s for s in example))
    return tuple(converted)


def _is_shape(value: object) -> bool:
    return isinstance(value, tuple) and all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in value
    )


def _is_interval(value: object) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
        and value[0] < value[1]
    )
