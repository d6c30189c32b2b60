"""``vgteach`` command line: ``vgteach study`` runs the paper's comparison and writes a report.

    vgteach study                                   # all seven losses on the shipped CIFAR-10 features, profile book
    vgteach study --dataset cifar10 --backbone efficientnet_lite0 --profile paper --seeds 0,1,2 \\
                  --data-root ../shared/data --out runs/cifar10
    vgteach study --protocol zero-shot              # train on 5 classes, retrieve among the 5 unseen ones
    vgteach study --grid robustness --seeds 0,1,2   # every loss at half, default and double its main hyper-parameter
    torchrun --nproc_per_node=4 -m vgteach study --profile paper ...     # several GPUs
    vgteach diagnose embeddings.npy labels.csv --out runs/diagnose   # the book's lenses on your embeddings

Bad arguments exit with status 2 and a one-line reason.
"""

from __future__ import annotations

import argparse
import sys

from .backbones import BACKBONE_NAMES
from .data import DATASET_NAMES, MissingDataError
from .editions.cli import add_colab_parser, colab_command
from .io import out_folder_problem
from .labs.cli import add_lab_parser, lab_command
from .losses import LOSS_NAMES
from .protocols import PROTOCOLS
from .training.config import PROFILES, native_protocol
from .training.grids import GRIDS


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _choice(valid, what):
    def parse(value: str) -> str:
        if value not in valid:
            raise argparse.ArgumentTypeError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")
        return value

    return parse


def _losses(value: str) -> tuple:
    names = LOSS_NAMES if value == "all" else tuple(v.strip() for v in value.split(",") if v.strip())
    for name in names or ("",):
        _choice(LOSS_NAMES, "loss")(name)
    return names


def _number(kind, check, what):
    """An argparse type: ``kind(value)`` that must pass ``check``, else a one-line error naming ``what``."""

    def parse(value: str):
        try:
            number = kind(value)
        except ValueError:
            number = None
        if number is None or not check(number):
            raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}")
        return number

    return parse


_positive = _number(int, lambda n: n >= 1, "a positive integer")
_lr = _number(float, lambda x: x > 0, "a positive number")


def _seeds(value: str) -> tuple:
    try:
        seeds = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds are comma-separated integers, got {value!r}") from None
    if any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be >= 0, got {value!r}")
    return seeds


def _eval_epochs(value: str):
    """``--eval-epochs``: a schedule name or comma-separated epochs (``TrainConfig.eval_epochs``)."""
    from .training.config import EVAL_SCHEDULES

    if value in EVAL_SCHEDULES:
        return value
    try:
        epochs = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--eval-epochs takes {' or '.join(EVAL_SCHEDULES)} or comma-separated epochs, got {value!r}"
        ) from None
    if any(e < 0 for e in epochs):
        raise argparse.ArgumentTypeError(f"epochs must be >= 0, got {value!r}")
    return epochs


def _workers(value: str):
    return "auto" if value == "auto" else _positive(value)


def build_parser() -> argparse.ArgumentParser:
    """The ``vgteach`` parser: the ``study``, ``diagnose``, ``lab`` and ``colab`` sub-commands."""
    parser = OneLineParser(prog="vgteach", description="Variance & Greediness of metric-learning losses.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    add_study_parser(commands)
    add_diagnose_parser(commands)
    add_lab_parser(commands)
    add_colab_parser(commands)
    return parser


def add_study_parser(commands) -> None:
    """``vgteach study``: what to train on, how long, with which model, and where the run goes."""
    study = commands.add_parser("study", help="train every loss with one configuration and write a report")
    _add_study_data_arguments(study)
    _add_study_schedule_arguments(study)
    _add_study_model_arguments(study)
    _add_study_output_arguments(study)


def _add_study_data_arguments(study) -> None:
    """The dataset, its protocol, the losses and the hyper-parameter grid."""
    study.add_argument(
        "--dataset",
        type=_choice(DATASET_NAMES, "dataset"),
        default="cifar10-features",
        help=f"one of {', '.join(DATASET_NAMES)} (default cifar10-features: real CIFAR-10 "
        "features shipped with vgteach)",
    )
    study.add_argument(
        "--protocol",
        type=_choice(PROTOCOLS, "protocol"),
        default=None,
        help="closed (every class trains and is scored; the default, except for cub200 and cars196, which are "
        "zero-shot only), zero-shot (train on the first half of the classes, retrieve among the unseen second "
        "half) or coarse-to-fine (train on superclasses, score the fine labels)",
    )
    study.add_argument(
        "--losses",
        type=_losses,
        default=None,
        help="comma-separated loss names or 'all' (default all seven; with --grid all of the grid's)",
    )
    study.add_argument(
        "--grid",
        type=_choice(tuple(GRIDS), "grid"),
        default=None,
        help="run the losses under several hyper-parameter settings (a 'setting' column in the tables): "
        "robustness (each loss's main hyper-parameter at half, default and double) or temperature "
        "(infonce and supcon at tau 0.05, 0.1, 0.2, 0.5, 1.0)",
    )


def _add_study_schedule_arguments(study) -> None:
    """The profile and what may override it: epochs, batch size, learning rate, evaluation epochs."""
    study.add_argument(
        "--profile",
        type=_choice(tuple(PROFILES), "profile"),
        default="book",
        help="smoke (seconds), book (about a minute on a CPU, default), paper (DESIGN.md §4)",
    )
    study.add_argument("--epochs", type=_positive, help="override the profile's epochs")
    study.add_argument("--batch-size", type=_positive, help="override the profile's batch size")
    study.add_argument("--lr", type=_lr, help="override the profile's learning rate")
    evaluation = study.add_mutually_exclusive_group()
    evaluation.add_argument(
        "--eval-epochs",
        type=_eval_epochs,
        help="when to evaluate: 'default' (every epoch "
        "up to 10, every 5 up to 50, then every 10) or a list such as 0,5,10,100; epoch 0 "
        "and the last epoch are always evaluated",
    )
    evaluation.add_argument("--eval-every", type=_positive, help="evaluate every N epochs instead")


def _add_study_model_arguments(study) -> None:
    """The training subset, the backbone and head, the device and the seeds."""
    study.add_argument(
        "--max-per-class", type=_positive, help="train on the first N training samples of each class only (CPU budget)"
    )
    study.add_argument(
        "--backbone",
        type=_choice(BACKBONE_NAMES, "backbone"),
        default="identity",
        help="identity (raw inputs, default), cnn (trained end to end) or a frozen backbone",
    )
    study.add_argument("--head", type=_choice(("linear", "mlp"), "head"), default="linear")
    study.add_argument("--device", type=_choice(("auto", "cpu", "cuda"), "device"), default="auto")
    study.add_argument("--seeds", type=_seeds, default=(0,), help="comma-separated, e.g. 0,1,2 (default 0)")


def _add_study_output_arguments(study) -> None:
    """The output folder, resuming, where the data lives, worker processes and progress bars."""
    study.add_argument(
        "--out",
        default=None,
        help="output folder (default runs/study-<dataset>-<profile>, other protocols "
        "runs/study-<dataset>-<protocol>-<profile>, a grid runs/study-<dataset>[-<protocol>]-<grid>-<profile>)",
    )
    study.add_argument("--resume", action="store_true", help="continue a killed study in --out")
    study.add_argument("--data-root", help="folder holding the real datasets (see 'Using this book')")
    study.add_argument("--cache-dir", help="feature cache folder (default ~/.cache/vgteach/features)")
    study.add_argument("--download", action="store_true", help="download a missing dataset where possible")
    study.add_argument(
        "--workers",
        type=_workers,
        default="auto",
        help="runs trained at once, one process each (default auto: one per CPU core on the CPU, 1 on a GPU)",
    )
    study.add_argument("--no-progress", action="store_true", help="no progress bars")


_positive_or_zero = _number(int, lambda n: n >= 0, "an integer >= 0")


def _ks(value: str) -> tuple:
    try:
        ks = tuple(int(v) for v in value.split(","))
    except ValueError:
        ks = ()
    if not ks or any(k < 1 for k in ks):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {value!r}")
    return ks


def add_diagnose_parser(commands) -> None:
    diagnose = commands.add_parser(
        "diagnose",
        help="VARIANCE, geometry, retrieval and GREEDINESS of your own "
        "embeddings, as report.md + metrics.json + figures",
    )
    diagnose.add_argument(
        "embeddings",
        help="embeddings [N, D]: .npy, .npz, .pt (tensors only), .csv/.tsv/.txt; "
        "or one file holding embeddings and labels",
    )
    diagnose.add_argument("labels", nargs="?", help="labels [N] (integers or strings), same formats")
    diagnose.add_argument(
        "--out", required=True, help="report folder (written all-or-nothing; an earlier report there is replaced)"
    )
    diagnose.add_argument(
        "--losses",
        type=_losses,
        default=LOSS_NAMES,
        help="losses whose GREEDINESS to evaluate, comma-separated or 'all' (default all)",
    )
    diagnose.add_argument(
        "--batch-size",
        type=_positive,
        default=512,
        help="class-balanced batch size for GREEDINESS (default 512, the paper's)",
    )
    diagnose.add_argument("--batches", type=_positive, default=4, help="batches averaged per loss (default 4)")
    diagnose.add_argument("--ks", type=_ks, default=(1, 2, 4, 8), help="the K of recall@K (default 1,2,4,8)")
    diagnose.add_argument("--seed", type=_positive_or_zero, default=0, help="seeds samples, batches, k-means")
    diagnose.add_argument("--no-progress", action="store_true", help="no progress bars")


def diagnose_command(args) -> int:
    from .diagnose import diagnose

    metrics = diagnose(
        args.embeddings,
        args.labels,
        args.out,
        ks=args.ks,
        losses=args.losses,
        batch_size=args.batch_size,
        batches=args.batches,
        seed=args.seed,
        progress=not args.no_progress,
    )
    for warning in metrics["input"]["warnings"]:
        print(f"vgteach: warning: {warning}", file=sys.stderr)
    print(f"wrote {args.out}/report.md, metrics.json and figures")
    return 0


def default_out(dataset: str, protocol, profile: str, grid=None) -> str:
    """``runs/study-<dataset>-<profile>``; a protocol other than the dataset's own split (``closed``, or
    ``zero-shot`` for CUB-200 and Cars196) is in the name too: ``runs/study-<dataset>-<protocol>-<profile>``;
    so is a grid: ``runs/study-<dataset>[-<protocol>]-<grid>-<profile>``."""
    parts = [dataset]
    if protocol not in (None, native_protocol(dataset)):
        parts.append(protocol)
    if grid is not None:
        parts.append(grid)
    return f"runs/study-{'-'.join(parts)}-{profile}"


def study_command(args) -> int:
    from .device import resolve_device
    from .training import distributed as dist
    from .training import run_study

    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            print("vgteach: error: --device cuda but no CUDA device is available", file=sys.stderr)
            return 2
    dist.init_from_environment(resolve_device(args.device))
    overrides = {
        k: v
        for k, v in (
            ("epochs", args.epochs),
            ("batch_size", args.batch_size),
            ("lr", args.lr),
            ("eval_epochs", args.eval_epochs or args.eval_every),
            ("max_per_class", args.max_per_class),
        )
        if v is not None
    }
    out = args.out or default_out(args.dataset, args.protocol, args.profile, args.grid)
    problem = out_folder_problem(out)
    if problem:
        print(f"vgteach: error: {problem}", file=sys.stderr)
        return 2
    run_study(
        dataset=args.dataset,
        losses=args.losses,
        seeds=args.seeds,
        profile=args.profile,
        out=out,
        protocol=args.protocol,
        grid=args.grid,
        device=args.device,
        resume=args.resume,
        progress=not args.no_progress,
        workers=args.workers,
        backbone=args.backbone,
        head=args.head,
        data_root=args.data_root,
        cache_dir=args.cache_dir,
        download=args.download,
        **overrides,
    )
    if dist.is_main_process():
        print(f"wrote {out}/report.md, summary.csv, history.csv and figures")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        commands = {"study": study_command, "diagnose": diagnose_command, "lab": lab_command, "colab": colab_command}
        return commands[args.command](args)
    except (ValueError, MissingDataError, ImportError, OSError) as error:  # OSError: e.g. a full disk
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"vgteach: error: {first_line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
