"""Which library code a student's function calls: the library-call shortcut of a graded exercise.

``return build_loss("contrastive", margin=margin)(e, y)`` passes the contrastive check: it *is* the
library. :class:`CallWatch` catches it whatever name the student imported it under, because it looks at
the code that runs, not at names: while the student's code runs (:func:`vgteach.labs.kit.around_student_code`
enters it around every call), a profile hook (:func:`sys.setprofile`) records every Python function
called from a forbidden file (a module, or every module of a package) or with a forbidden code object (one
function). ``vgteach lab grade`` scores the part 0 when anything was recorded.

Limits: a Python-level hook sees Python functions (the library's losses and diagnostics are Python); it is
no defence against code written to defeat it (``sys.setprofile(None)``): it catches the shortcut, not an
attack on the grader.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import sys
from pathlib import Path


def resolve(targets) -> tuple[set, set]:
    """``(files, code objects)`` of ``targets``: module or package names, or ``"module:function"``."""
    files, codes = set(), set()
    for target in targets:
        module_name, _, function = target.partition(":")
        module = importlib.import_module(module_name)
        if function:
            obj = getattr(module, function)
            codes.add(getattr(obj, "__code__", None) or obj.__func__.__code__)
            continue
        modules = [module]
        if hasattr(module, "__path__"):  # a package: every module in it
            for info in pkgutil.walk_packages(module.__path__, prefix=module.__name__ + "."):
                modules.append(importlib.import_module(info.name))
        files.update(str(Path(m.__file__).resolve()) for m in modules if getattr(m, "__file__", None))
    return files, codes


class CallWatch:
    """Records the forbidden functions called while :meth:`watching` is active.

    Parameters
    ----------
    targets : iterable of str
        Modules / packages (``"vgteach.losses"``) and single functions (``"torch.functional:cdist"``).

    Examples
    --------
    >>> watch = CallWatch(["vgteach.losses"])
    >>> with around_student_code(watch.watching):
    ...     check_contrastive(my_contrastive)
    >>> watch.calls                              # e.g. ['vgteach/losses/base.py: MetricLoss.forward']
    """

    def __init__(self, targets):
        self.files, self.codes = resolve(targets)
        self._paths = {}  # co_filename -> resolved path (filenames repeat: resolve each once)
        self.calls: list = []

    def _forbidden(self, code) -> bool:
        if code in self.codes:
            return True
        path = self._paths.get(code.co_filename)
        if path is None:
            path = self._paths[code.co_filename] = str(Path(code.co_filename).resolve())
        return path in self.files

    def _record(self, code) -> None:
        name = getattr(code, "co_qualname", code.co_name)
        where = _short_path(code.co_filename)
        entry = f"{where}: {name}"
        if entry not in self.calls:
            self.calls.append(entry)

    @contextlib.contextmanager
    def watching(self):
        """Record forbidden calls made inside this context (this thread)."""
        previous = sys.getprofile()

        def profile(frame, event, arg):
            if event == "call" and self._forbidden(frame.f_code):
                self._record(frame.f_code)

        sys.setprofile(profile)
        try:
            yield self
        finally:
            sys.setprofile(previous)


def _short_path(filename: str) -> str:
    """``…/site-packages/vgteach/losses/base.py`` → ``vgteach/losses/base.py``."""
    parts = Path(filename).parts
    for anchor in ("vgteach", "torch"):
        if anchor in parts:
            return "/".join(parts[len(parts) - 1 - parts[::-1].index(anchor) :])
    return Path(filename).name
