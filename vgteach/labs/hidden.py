"""The hidden tests of a lab, run inside a submission's kernel after its cells (``vgteach lab grade``).

:func:`run_hidden_tests` looks up each graded function in the notebook's namespace and runs its check
(:class:`~vgteach.labs.exercises.HiddenTest`) on batches drawn with a fresh seed (:func:`seeded`), with
the library-call watch around the student's code (:class:`~vgteach.labs.watch.CallWatch`) and a time
limit per test. One JSON line per test goes to ``out`` as soon as it is graded, so a kernel that dies
half-way still leaves the tests it finished.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from pathlib import Path
from typing import Optional

from .batches import seeded
from .exercises import get_lab
from .kit import NOT_WRITTEN, around_student_code
from .watch import CallWatch


class TestTimeout(BaseException):
    """A hidden test ran past its time limit (a BaseException: the checks' ``except Exception`` lets it through)."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise :class:`TestTimeout` in the main thread after ``seconds`` (SIGALRM; nothing where unavailable)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise TestTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def grade_test(test, exercise, namespace: dict, seed: int, seconds: float) -> dict:
    """Run one hidden test on the student's function in ``namespace``: ``{points, status, message}``."""
    from .. import labs

    fn = namespace.get(test.function)
    if fn is None:
        return _result(0, "missing", f"{test.function} is not defined: its cell is missing or did not run.")
    if not callable(fn):
        return _result(0, "failed", f"{test.function} is a {type(fn).__name__}, not a function.")
    watch = CallWatch(exercise.forbidden)
    check = getattr(labs, test.check)
    try:
        with time_limit(seconds), seeded(seed), around_student_code(watch.watching):
            result = check(fn, **test.kwargs)
    except TestTimeout:
        return _result(0, "timeout", f"{test.description} ran past its time limit of {seconds:g} s.")
    except Exception as error:  # noqa: BLE001 — a check that cannot run is a row, never a crash
        return _result(0, "error", f"{test.description} could not run: {type(error).__name__}: {error}")
    if watch.calls:
        named = ", ".join(watch.calls[:3]) + (f" and {len(watch.calls) - 3} more" if len(watch.calls) > 3 else "")
        return _result(
            0,
            "library call",
            f"{test.function} calls the library's own implementation ({named}): the exercise is to write it "
            "yourself, so this part scores 0.",
        )
    message = " ".join(line.strip() for line in str(result).splitlines())
    if result.passed:
        return _result(test.points, "passed", message)
    return _result(0, "not written" if NOT_WRITTEN in message else "failed", message)


def _result(points, status, message) -> dict:
    return {"points": points, "status": status, "message": message}


def run_hidden_tests(lab_name: str, namespace: dict, seed: int, out, seconds: float = 60.0) -> list:
    """Run every hidden test of a lab on the functions in ``namespace``; append one JSON line per test to ``out``.

    Parameters
    ----------
    lab_name : str
        The lab (``"lab1_losses"`` …).
    namespace : dict
        The notebook's globals (``globals()`` in the grading cell).
    seed : int
        The seed of the fresh batches.
    out : path
        The JSON-lines file the results go to.
    seconds : float
        Time limit of one test.

    Returns
    -------
    list of dict
        ``{exercise, function, check, points, max_points, status, message, seconds}`` per test.
    """
    results = []
    with Path(out).open("a", encoding="utf-8") as stream:
        for exercise in get_lab(lab_name).exercises:
            for test in exercise.tests:
                start = time.perf_counter()
                result = grade_test(test, exercise, namespace, seed, seconds)
                result.update(
                    exercise=exercise.label,
                    function=test.function,
                    check=test.description,
                    max_points=test.points,
                    seconds=round(time.perf_counter() - start, 2),
                )
                stream.write(json.dumps(result, ensure_ascii=False) + "\n")
                stream.flush()
                results.append(result)
    return results


def hidden_test(label: str, seed: Optional[int] = None, seconds: float = 60.0, **functions) -> list:
    """Run the hidden tests of one exercise on ``functions`` (``my_contrastive=solution_contrastive``) and
    print what ``vgteach lab grade`` would write: points and message per test (the instructor edition)."""
    import secrets

    from .exercises import LABS

    exercise = next((e for lab in LABS.values() for e in lab.exercises if e.label == label), None)
    if exercise is None:
        raise ValueError(f"unknown exercise {label!r}")
    seed = secrets.randbelow(2**31 - 1) + 1 if seed is None else seed
    results = []
    for test in exercise.tests:
        result = grade_test(test, exercise, functions, seed, seconds)
        print(f"{test.description}: {result['points']:g} / {test.points:g} ({result['status']}) {result['message']}")
        results.append(result)
    return results
