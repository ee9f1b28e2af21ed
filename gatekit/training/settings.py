"""What an optimizer or a schedule declares about one of its settings: :class:`Setting`.

A setting is a number with a default, a one-line doc and the interval it
must lie in, the way :class:`gatekit.Attr` is for a gate. Values come from a
YAML file, where ``0`` and ``0.0`` are both a number; :meth:`Setting.convert`
turns either into a finite float or says, in a short reason, why it will not.

Examples
--------
>>> beta1 = Setting(0.9, "decay of the running mean of the gradient", 0.0, 1.0, high_open=True)
>>> beta1.convert(0), beta1.convert(0.5)
(0.0, 0.5)
>>> beta1.convert(1)
Traceback (most recent call last):
...
ValueError: must be at least 0 and less than 1, got 1
>>> Setting(10, "decay every this many steps", 1, integer=True).convert(2.5)
Traceback (most recent call last):
...
ValueError: must be a whole number, got 2.5
>>> resolve({"gamma": Setting(0.1, "decay factor", 0.0)}, {}, "schedule 'step'")
{'gamma': 0.1}
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass

from gatekit.plugin.gatespec import describe

__all__ = ["Setting", "resolve"]


def _number_text(value: float) -> str:
    """A bound as a message writes it: ``0``, ``1``, ``1e-08``."""
    value = float(value)  # a bound may be written as an int
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting of an optimizer or a schedule: its default, its doc and its bounds.

    ``low`` and ``high`` are inclusive bounds; ``low_open`` or ``high_open``
    leaves the bound itself out (Adam's betas lie in ``[0, 1)``). An
    ``integer`` setting takes whole numbers only (a number of steps, a 0/1
    switch); :meth:`convert` still returns a float, which the optimizer or
    schedule turns into an ``int`` where it counts.
    """

    default: float
    doc: str
    low: float = -math.inf
    high: float = math.inf
    _: KW_ONLY
    integer: bool = False
    low_open: bool = False
    high_open: bool = False

    def convert(self, value: object) -> float:
        """``value`` as a finite float within the bounds; ``ValueError`` with the reason if not.

        >>> Setting(0.0, "weight decay", 0.0).convert(-1)
        Traceback (most recent call last):
        ...
        ValueError: must be at least 0, got -1
        >>> Setting(0.0, "weight decay", 0.0).convert("0.1")
        Traceback (most recent call last):
        ...
        ValueError: must be a number, got the text '0.1'
        """
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"must be a number, got {describe(value)}")
        try:
            result = float(value)
        except OverflowError:  # an int too large for a float
            result = math.inf
        if not math.isfinite(result):
            raise ValueError(f"must be a finite number, got {value!r}")
        if self.integer and not result.is_integer():
            raise ValueError(f"must be a whole number, got {value!r}")
        if not self.contains(result):
            raise ValueError(f"must be {self.bounds_text}, got {value!r}")
        return result

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies within the bounds."""
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    @property
    def bounds_text(self) -> str:
        """The bounds in words, for messages and listings: ``"at least 0 and less than 1"``.

        >>> Setting(0.0, "centered", 0, 1, integer=True).bounds_text
        '0 or 1'
        >>> Setting(1.0, "any factor").bounds_text
        'any number'
        """
        if self.integer and not self.low_open and not self.high_open and self.high - self.low == 1:
            return f"{_number_text(self.low)} or {_number_text(self.high)}"
        parts = []
        if self.low > -math.inf:
            parts.append(f"{'greater than' if self.low_open else 'at least'} {_number_text(self.low)}")
        if self.high < math.inf:
            parts.append(f"{'less than' if self.high_open else 'at most'} {_number_text(self.high)}")
        return " and ".join(parts) or ("any whole number" if self.integer else "any number")

    def problems(self) -> list[str]:
        """What is wrong with this setting as declared, as readable phrases (empty if fine).

        A plugin's setting is checked when it is registered, so that a bad
        declaration is the plugin's error, not the first user's.
        """
        found = []
        if not isinstance(self.doc, str) or not self.doc.strip():
            found.append("its doc must be a non-empty one-line string")
        for flag in ("integer", "low_open", "high_open"):
            if not isinstance(getattr(self, flag), bool):
                found.append(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        for bound in ("low", "high"):
            value = getattr(self, bound)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
                found.append(f"{bound} must be a number, got {describe(value)}")
        if found:
            return found
        if not self.low <= self.high:
            found.append(f"low ({self.low!r}) must not be above high ({self.high!r})")
        else:
            try:
                self.convert(self.default)
            except ValueError as exc:
                found.append(f"its default {self.default!r} is refused by its own bounds: {exc}")
        return found


def resolve(
    settings: Mapping[str, Setting],
    given: Mapping[str, object],
    owner: str,
    *,
    fill_defaults: bool = True,
) -> dict[str, float]:
    """Every setting's value: those in ``given`` converted, the others their defaults.

    :param settings: what the optimizer or schedule declares.
    :param given: the values read from a file (or passed in code).
    :param owner: how messages name the owner: ``"optimizer 'adam'"``.
    :param fill_defaults: with False, every setting must be given.
    :return: the values in the order of ``settings``.
    :raises ValueError: a name that is no setting (with the likely one), a
        setting left out when ``fill_defaults`` is False, or a value its
        :class:`Setting` refuses: ``"optimizer 'adam': beta1 must be less than
        1, got 1.5"``.

    >>> resolve({"eps": Setting(1e-8, "eps", 0.0)}, {"epz": 0}, "optimizer 'adam'")
    Traceback (most recent call last):
    ...
    ValueError: optimizer 'adam' has no setting 'epz' (did you mean 'eps'?)
    """
    for key in given:
        if key not in settings:
            raise ValueError(f"{owner} has no setting {key!r} ({_known(key, settings)})")
    values = {}
    for key, setting in settings.items():
        if key in given:
            value = given[key]
        elif fill_defaults:
            value = setting.default
        else:
            raise ValueError(f"{owner}: setting {key!r} is missing")
        try:
            values[key] = setting.convert(value)
        except ValueError as exc:
            raise ValueError(f"{owner}: {key} {exc}") from None
    return values


def _known(key: object, settings: Mapping[str, Setting]) -> str:
    if not settings:
        return "it has no settings"
    close = difflib.get_close_matches(key, list(settings), n=1) if isinstance(key, str) else []
    if close:
        return f"did you mean {close[0]!r}?"
    return f"its settings: {', '.join(settings)}"
