"""Run one untrusted notebook with papermill under limits: ``python -m vgteach.labs.sandbox …``.

``vgteach lab grade`` starts this module in a fresh process for every submission, in the submission's own
temporary folder. Before anything else it lowers its resource limits, which the kernel it starts inherits:
memory (``RLIMIT_DATA``: the heap and every private mapping, so a huge tensor fails to allocate), the size
of a file it writes (``RLIMIT_FSIZE``) and CPU seconds (``RLIMIT_CPU``, a last resort against a busy
loop). Then papermill runs the notebook, cells that raise included (``allow_errors``), interrupting a cell
that runs past ``--cell-timeout`` and going on with the next; an alarm stops the whole run at
``--total-timeout``. It writes the executed notebook and a small status file (``{"status": "finished" |
"time limit" | "failed", "detail": …}``).

These limits keep one bad submission from stopping the batch; they are not a security boundary (the code
can still read and write what the user running it can). Grade inside a container or a throw-away virtual
machine: see the instructors' guide.
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import sys
from pathlib import Path


class TotalTimeout(BaseException):
    """The whole notebook ran past ``--total-timeout``."""


def limit_resources(memory_mb: int, cpu_seconds: int, file_mb: int) -> None:
    """Lower this process's (and its children's) limits: data memory, CPU seconds, size of a written file."""
    for limit, value in (
        (resource.RLIMIT_DATA, memory_mb * 2**20),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_FSIZE, file_mb * 2**20),
    ):
        soft, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(limit, (value, hard if hard != resource.RLIM_INFINITY else value))


def kill_children() -> None:
    """SIGKILL the process groups of this process's children (the kernel leads its own group); Linux only."""
    import os

    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:  # field 4 of /proc/<pid>/stat: the parent's pid
            pid = int(stat.parent.name)
            for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    kill()
                    break
                except OSError:
                    continue


def first_error(executed: Path) -> str:
    """``"cell 5 raised KeyboardInterrupt"``: the FIRST cell of the executed notebook that raised (papermill's
    own error names the last one, often a NameError that only follows from the first), or ``""``."""
    try:
        cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return ""
    for index, cell in enumerate(cells):  # numbered as grade.cell_errors numbers them in the feedback
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                name = output.get("ename", "an error")
                timed_out = name == "KeyboardInterrupt"  # papermill interrupts a cell at its time limit
                return f"cell {index} " + ("ran past its time limit" if timed_out else f"raised {name}")
    return ""


def run(args) -> dict:
    import papermill

    def expire(signum, frame):
        raise TotalTimeout()

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(args.total_timeout)
    try:
        papermill.execute_notebook(
            args.input,
            args.output,
            parameters={"PROFILE": args.profile},
            kernel_name=args.kernel,
            cwd=args.cwd,
            progress_bar=False,
            execution_timeout=args.cell_timeout,
            allow_errors=True,
            interrupt_on_timeout=True,
        )
    except TotalTimeout:
        kill_children()
        return {"status": "time limit", "detail": f"the notebook ran past {args.total_timeout} s"}
    except papermill.PapermillExecutionError as error:  # cells that raised: the notebook still ran to the end
        return {"status": "finished", "detail": first_error(Path(args.output)) or f"a cell raised {error.ename}"}
    except Exception as error:  # noqa: BLE001 — the kernel died, could not start, …: report, never crash
        kill_children()
        first_line = (str(error).strip().splitlines() or [""])[0]
        return {"status": "failed", "detail": f"{type(error).__name__}: {first_line}"}
    finally:
        signal.alarm(0)
    return {"status": "finished", "detail": ""}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vgteach.labs.sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--status", required=True, help="where the status JSON goes")
    parser.add_argument("--cwd", required=True)
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--cell-timeout", type=int, default=300)
    parser.add_argument("--total-timeout", type=int, default=600)
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--file-mb", type=int, default=256)
    args = parser.parse_args(argv)
    limit_resources(args.memory_mb, cpu_seconds=args.total_timeout + 60, file_mb=args.file_mb)
    status = run(args)
    Path(args.status).write_text(json.dumps(status), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
