"""The grading kit every lab check is built from: one result type, one path for the student's errors, and the
comparisons and messages the checks share.

A check is a function decorated with :func:`grader`. Its body runs the student's code only through
:func:`call_student`, compares what came back with the helpers below, and fails by raising :class:`Failure`
(a message and an optional hint); when nothing failed it returns its success message. The decorator turns
both outcomes into a :class:`CheckResult`. So every way a student's function can go wrong (not written yet,
an exception, a wrong type, shape or number) ends in the same place, printed the same way::

    @grader("check_gini")
    def check_gini(fn):
        for description, values in inputs:
            got = call_student(fn, values.clone(), where=f"On {description}", hint=HINT)
            expect_close(got, gini(values), f"On {description}", HINT)
        return "your Gini coefficient matches vgteach."

Errors in the *caller's* arguments (an unknown loss name, a check given no function) are not graded: they
raise ``ValueError`` / ``TypeError`` as everywhere in vgteach.

Because student code runs only inside :func:`call_student` and every check ends in :func:`grader`, a grading
run can wrap either one without touching the checks: :func:`around_student_code` enters a context around
every call into student code (``vgteach lab grade`` watches there which vgteach functions the student's code
calls), and :func:`vgteach.labs.batches.seeded` runs the same checks on fresh batches.

Hints: a check's *generic* hint (the formula, registered with :func:`generic_hint`) is printed under a failure,
unless the lab asked for hints on request (:func:`hints_on_request`, what ``vgteach.labs.hints`` does): the
failure then says which ``hint(n)`` call shows it, and keeps only the hints that diagnose the mistake itself
(a missing normalisation, a cut gradient).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import math
import textwrap
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import Tensor

#: Tolerances of every comparison (float64 inputs; lenient enough for float32 constants in student code).
RTOL, ATOL = 1e-4, 1e-6

#: What a stub (a function that raises ``NotImplementedError``) is told, after its name or "Your function"
#: (``my_floors is not written yet: …``): first, on the message's first line, with no hint (a stub has made
#: no mistake to diagnose, and the generic hint would give the formula away).
NOT_WRITTEN = "is not written yet: fill in its body and run the cell again."
#: What a prediction left at ``None`` is told.
NOT_ANSWERED = "Not answered yet: replace None by your answer and run the cell again."


#: The widest line a printed check shows: the book's code column holds 77 monospace characters at the width
#: the browser check reads it (1280 px window), and a solution's check is shown inside a dropdown, a few
#: characters narrower (its output block fits 75 columns, and the ✅/❌ mark may be drawn two wide).
MESSAGE_WIDTH = 74


def wrap_message(message: str, width: int = MESSAGE_WIDTH) -> str:
    """``message`` with every line wider than ``width`` broken between words; a continuation is indented as
    far as the text after the line's mark (``"✅ "``/``"❌ "``) or its own leading spaces."""
    lines = []
    for line in message.splitlines() or [""]:
        stripped = line.lstrip(" ")
        indent = " " * (len(line) - len(stripped) or 3)
        lines += textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False) or [line]
    return "\n".join(lines)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a self-check: ``bool(result)`` is ``passed``; printing it shows ``message``. Shown as a
    notebook cell's output it is wrapped to the book's code column (:func:`wrap_message`)."""

    name: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        """IPython's display of a cell's last value: the message wrapped to the code column."""
        printer.text(wrap_message(self.message))


def passed(name: str, message: str) -> CheckResult:
    """A passed check: ``✅ message``."""
    return CheckResult(name, True, f"✅ {message}")


#: The generic hints of the checks (the formulas), as registered by :func:`generic_hint`.
_GENERIC_HINTS: list = []
#: check name (before any "(…)") -> what a failure says instead of its generic hint; see :func:`hints_on_request`.
_ON_REQUEST: dict = {}


def generic_hint(text: str) -> str:
    """Register ``text`` as a check's generic hint (one that gives the formula away); returns it unchanged."""
    if text not in _GENERIC_HINTS:
        _GENERIC_HINTS.append(text)
    return text


def hints_on_request(pointers: dict) -> None:
    """From now on, a failure of the checks named in ``pointers`` shows ``pointers[name]`` (e.g. "Stuck? Run
    ``hint(2)``.") instead of its generic hint. ``{}`` changes nothing; a name maps to ``None`` to undo."""
    for name, pointer in pointers.items():
        if pointer is None:
            _ON_REQUEST.pop(name, None)
        else:
            _ON_REQUEST[name] = pointer


def failed(name: str, message: str, hint: str = "") -> CheckResult:
    """A failed check: ``❌ message``, and the hint on a second line when there is one."""
    pointer = _ON_REQUEST.get(name.split("(", 1)[0])
    if pointer:
        for generic in _GENERIC_HINTS:
            hint = hint.replace(generic, "")
        hint = hint.strip()
    text = f"❌ {message}"
    if hint:
        text += f"\n   Hint: {hint}"
    if pointer:
        text += f"\n   {pointer}"
    return CheckResult(name, False, text)


class Failure(Exception):
    """Raised inside a check body to fail the check with ``message`` (and ``hint``); :func:`grader` catches it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


def grader(name: str) -> Callable:
    """Make a check from its body: the body returns its success message or raises :class:`Failure`.

    Parameters
    ----------
    name : str
        The check's name in its :class:`CheckResult`: a format string over the check's arguments, e.g.
        ``"check_{loss_name}"`` or ``"check_recall_at_k(k={k})"`` (defaults filled in).

    Returns
    -------
    callable
        A decorator. The check it makes has the body's signature and docstring (the body is written with
        the check's public signature, ``-> CheckResult`` included), and returns a :class:`CheckResult`.
        Any other exception (a bad argument from the caller) propagates.
    """

    def decorate(body: Callable) -> Callable:
        signature = inspect.signature(body)

        def title(args: tuple, kwargs: dict) -> str:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return name.format(**bound.arguments)

        @functools.wraps(body)
        def check(*args, **kwargs) -> CheckResult:
            try:
                message = body(*args, **kwargs)
            except Failure as failure:
                return failed(title(args, kwargs), failure.message, failure.hint)
            return passed(title(args, kwargs), message)

        return check

    return decorate


#: The context a grading run enters around every call into student code (None: nothing).
_AROUND_STUDENT = contextvars.ContextVar("vgteach_labs_around_student", default=None)


@contextlib.contextmanager
def around_student_code(enter: Callable):
    """Within this context, every :func:`call_student` runs the student's code inside ``with enter():``.

    Examples
    --------
    >>> with around_student_code(watch):       # watch() -> a context manager, e.g. one that records calls
    ...     check_contrastive(my_contrastive)
    """
    if not callable(enter):
        raise TypeError(f"around_student_code needs a callable returning a context manager, got {type(enter).__name__}")
    token = _AROUND_STUDENT.set(enter)
    try:
        yield
    finally:
        _AROUND_STUDENT.reset(token)


def call_student(
    fn: Callable, *args, where: str = "", hint: str = "", stub: str = "", raised: str = "your function raised {error}"
):
    """``fn(*args)``: the one place a check runs the student's code. Any exception becomes a :class:`Failure`.

    Parameters
    ----------
    fn : callable
        The student's function (or a thunk that runs student code, e.g. autograd through their loss).
    *args
        Its arguments (bind keyword arguments with :func:`functools.partial`).
    where : str
        Which input it failed on, e.g. ``"On batch 2 (…)"``; starts the message.
    hint : str
        The hint shown with an exception.
    stub : str
        The name of the stub, for its message: ``NotImplementedError`` is reported as
        ``"<stub> is not written yet: …"`` (:data:`NOT_WRITTEN`; by default the function's own name),
        without ``where`` and without a hint.
    raised : str
        The message for any other exception, with ``{error}`` standing for ``"TypeError: …"``.

    Returns
    -------
    object
        Whatever ``fn`` returned.
    """
    enter = _AROUND_STUDENT.get()
    try:
        if enter is None:
            return fn(*args)
        with enter():
            return fn(*args)
    except NotImplementedError:
        raise Failure(f"{stub or _stub_name(fn)} {NOT_WRITTEN}") from None
    except Exception as exc:  # noqa: BLE001 — any error in student code becomes a message
        error = f"{type(exc).__name__}: {exc}"
    raise Failure(" ".join(part for part in (where, raised.format(error=error)) if part), hint)


def _stub_name(fn: Callable) -> str:
    """The name a stub is called by in its message: its own (``my_contrastive``), else "Your function"."""
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else "Your function"


def require_answer(answer) -> None:
    """Fail with :data:`NOT_ANSWERED` while a prediction is still ``None`` (never an error)."""
    if answer is None:
        raise Failure(NOT_ANSWERED)


# ---------------------------------------------------------------------------------------- comparisons
def as_number(value) -> Optional[float]:
    """A Python float from a 0-dim tensor / 1-element tensor / number; ``None`` if it is none of these."""
    if isinstance(value, Tensor):
        return float(value.detach().reshape(-1)[0]) if value.numel() == 1 else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:  # NumPy scalars and 0-d arrays
        return float(value)
    except (TypeError, ValueError):
        return None


def as_tensor(value, dtype: Optional[torch.dtype] = None) -> Optional[Tensor]:
    """``torch.as_tensor(value, dtype)``, or ``None`` when ``value`` is not array-like."""
    try:
        return torch.as_tensor(value, dtype=dtype)
    except (TypeError, ValueError, RuntimeError):
        return None


def close(got: float, expected: float) -> bool:
    """Whether two numbers agree within :data:`RTOL` / :data:`ATOL`."""
    return math.isclose(got, expected, rel_tol=RTOL, abs_tol=ATOL)


def fmt(x: float) -> str:
    """A number as the messages show it (six significant digits)."""
    return f"{x:.6g}"


def expect_close(got, expected: float, where: str, hint: str = "") -> None:
    """Fail unless ``got`` is a number within tolerance of ``expected``: "you return …, vgteach gives …"."""
    value = as_number(got)
    if value is None or not close(value, expected):
        raise Failure(f"{where} you return {got!r}, vgteach gives {fmt(expected)}.", hint)


def expect_tensor(got, shape: tuple, where: str, hint: str = "") -> None:
    """Fail unless ``got`` is a tensor of ``shape``: "expected a tensor of shape …, got <type> <shape>"."""
    if not isinstance(got, Tensor) or tuple(got.shape) != tuple(shape):
        raise Failure(
            f"{where} expected a tensor of shape {tuple(shape)}, got "
            f"{type(got).__name__} {tuple(getattr(got, 'shape', ()))}.",
            hint,
        )


# ------------------------------------------------------------------------------------ set answers
def listed(keys) -> str:
    """Sorted keys as a reader sees them: ``3`` for a one-index key, ``(0, 2)`` otherwise; "none" if empty."""
    return ", ".join(str(key[0]) if len(key) == 1 else str(key) for key in sorted(keys)) or "none"


def not_quite(given: set, truth: set, wrongly_given: str) -> str:
    """'Not quite: <given but false> <wrongly_given>; missed <true but not given>' of a set answer."""
    extra, missed = given - truth, truth - given
    parts = ([f"{listed(extra)} {wrongly_given}"] if extra else []) + ([f"missed {listed(missed)}"] if missed else [])
    return "Not quite: " + "; ".join(parts)
