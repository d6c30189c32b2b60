"""``vgteach lab``: the labs for a course — student and instructor editions, and grading.

    vgteach lab student handout/                      # the three labs without solutions (Colab-readable)
    vgteach lab instructor instructor/                # solutions, rubric, guide; run in the book profile
    vgteach lab grade submissions/*.ipynb --out grades.csv     # one row per student and exercise part
    vgteach lab expected                              # the guide's expected numbers (trains; a few minutes)

See the instructors' guide (``book/instructors.md``): grading runs the students' code.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def add_lab_parser(commands) -> None:
    lab = commands.add_parser("lab", help="the labs for a course: student and instructor editions, grading")
    actions = lab.add_subparsers(dest="lab_command", required=True, parser_class=type(lab))

    student = actions.add_parser("student", help="write the student edition of the three labs into DIR")
    student.add_argument("dir")
    student.add_argument("--repo", help="the clone of the book (default: the one vgteach is installed from)")

    instructor = actions.add_parser(
        "instructor", help="write the instructor edition (solutions, rubric, guide, expected numbers) into DIR"
    )
    instructor.add_argument("dir")
    instructor.add_argument("--repo", help="the clone of the book (default: the one vgteach is installed from)")
    instructor.add_argument(
        "--profile",
        choices=("smoke", "book", "paper"),
        default="book",
        help="run the instructor editions in this profile to record the expected numbers (default book: "
        "the compute of the guide's cost table, and the checks)",
    )
    instructor.add_argument("--no-execute", action="store_true", help="write the notebooks without running them")

    expected = actions.add_parser(
        "expected",
        help="train what Labs 2 and 3 train (book profile, CPU) and write the guide's expected numbers and costs",
    )
    expected.add_argument("--repo", help="the clone of the book (default: the one vgteach is installed from)")
    expected.add_argument(
        "--no-train", action="store_true", help="only rewrite the guide's generated blocks from the committed numbers"
    )

    grade = actions.add_parser("grade", help="run and grade submitted lab notebooks (runs the students' code!)")
    grade.add_argument("submissions", nargs="+", help="the students' notebooks, named after the student")
    grade.add_argument("--out", required=True, help="the CSV to write (one row per student and exercise part)")
    grade.add_argument("--feedback", help="folder of the per-student feedback files (default: feedback/ beside --out)")
    grade.add_argument("--lab", help="the lab, for submissions that lost their metadata and title")
    grade.add_argument("--seed", type=int, help="seed of the hidden tests' batches (default: a fresh random one)")
    grade.add_argument("--time-limit", type=_positive, default=300, help="seconds for a notebook's cells (default 300)")
    grade.add_argument("--test-time-limit", type=_positive, default=30, help="seconds per hidden test (default 30)")
    grade.add_argument("--memory-mb", type=_positive, default=4096, help="memory of a submission in MiB (default 4096)")


def lab_command(args) -> int:
    commands = {
        "student": student_command,
        "instructor": instructor_command,
        "expected": expected_command,
        "grade": grade_command,
    }
    return commands[args.lab_command](args)


def student_command(args) -> int:
    from ..editions.cli import find_repository
    from ..editions.labs import write_student_editions

    written = write_student_editions(find_repository(args.repo), args.dir)
    print(f"wrote the student edition of {len(written)} labs in {args.dir}")
    return 0


def instructor_command(args) -> int:
    from ..editions.cli import find_repository
    from ..editions.labs import execute_notebooks, write_instructor_editions

    written = write_instructor_editions(find_repository(args.repo), args.dir)
    notebooks = [path for path in written if path.suffix == ".ipynb"]
    if not args.no_execute:
        print(f"running {len(notebooks)} notebooks in the {args.profile} profile to record the expected numbers …")
        failed = execute_notebooks(notebooks, args.profile)
        for path, error in failed:
            print(f"vgteach: warning: {path} did not run to the end: {error}")
    print(f"wrote the instructor edition in {args.dir}: {', '.join(p.name for p in written if p.suffix == '.md')}")
    return 0


def expected_command(args) -> int:
    from ..editions.cli import find_repository
    from .expected import EXPECTED_FILE, expected_numbers, read_expected, update_guide, write_expected

    root = find_repository(args.repo)
    target = root / "vgteach" / "labs" / EXPECTED_FILE.name
    if not args.no_train:
        print("training what Labs 2 and 3 train in the book profile on the CPU …")
        write_expected(expected_numbers("book", device="cpu", progress=True), target)
        print(f"wrote {target}")
    guide = root / "book" / "instructors.md"
    text = guide.read_text(encoding="utf-8")
    updated = update_guide(text, read_expected(target))
    if updated != text:
        guide.write_text(updated, encoding="utf-8")
    print(f"{guide}: {'rewrote its generated blocks' if updated != text else 'up to date'}")
    return 0


def grade_command(args) -> int:
    import importlib.util

    from .grade import Limits, grade

    for module in ("papermill", "ipykernel"):
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"vgteach lab grade needs {module}: pip install papermill ipykernel")
    missing = [path for path in args.submissions if not Path(path).is_file()]
    if missing:
        raise ValueError(f"no such submission: {', '.join(missing)}")
    limits = Limits(seconds=args.time_limit, test_seconds=args.test_time_limit, memory_mb=args.memory_mb)
    rows = grade(
        args.submissions, args.out, feedback_dir=args.feedback, lab=args.lab, seed=args.seed, limits=limits, log=print
    )
    students = len({row.student for row in rows})
    print(f"wrote {args.out} ({len(rows)} rows, {students} students) and the feedback files")
    return 0
