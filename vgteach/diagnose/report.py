"""``vgteach diagnose``, step 3: the report folder, written all-or-nothing (a temporary folder beside ``out``,
renamed at the end)::

    report.md       the tables below and the figures, readable on GitHub
    metrics.json    every number, for scripts
    variance.png    per-class spread, centroid spacing, spread vs the nearest other class
    retrieval.png   recall@K
    greediness.png  what each of the seven losses would do on these embeddings
    projection.png  the first two principal components of a class-stratified sample (not for D = 1)

The figures are :mod:`vgteach.figures`'s; this module writes them and the Markdown around them.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..figures import greediness_figure, projection_figure, retrieval_figure, save_figure, variance_figure
from ..io import out_folder_problem
from .compute import ClassSpread, FigureArrays
from .read import InputError, first_line

#: the GREEDINESS table's columns, where the statistics have them
GREEDINESS_TABLE = ("active_ratio", "effective_active_ratio", "sample_active_ratio", "grad_norm_mean", "grad_gini")


def validate_out(out) -> Path:
    """Fail early (before minutes of work) if ``out`` cannot become the report folder: the study's check
    (:func:`vgteach.io.out_folder_problem`: not a file, under a folder where a file can be written), and
    not a folder holding other files than an earlier report (which is replaced)."""
    out = Path(out)
    problem = out_folder_problem(out)
    if problem:
        raise InputError(problem)
    if out.is_dir() and any(out.iterdir()) and not (out / "metrics.json").is_file():
        raise InputError(
            f"--out {out}: a folder with other files in it; choose a new or empty folder "
            "(an earlier diagnose report is replaced)"
        )
    return out


def atomic_folder(out: Path, write) -> None:
    """``write(tmp)`` into a fresh folder beside ``out``, then rename it to ``out`` (replacing an earlier
    one). On any error the temporary folder is removed and ``out`` is left as it was."""
    validate_out(out)
    created = [p for p in reversed(out.parents) if not p.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", suffix=".tmp", dir=out.parent))
        umask = os.umask(0o22)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp's 0700 would become the report's mode
    except OSError as error:
        raise InputError(f"--out {out}: cannot write there ({first_line(error)})") from None
    try:
        write(tmp)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(created):
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
        if isinstance(error, OSError):
            raise InputError(f"--out {out}: writing failed ({first_line(error)})") from None
        raise


def to_json(metrics: dict) -> str:
    """``metrics.json``: NaN written as null (strict JSON)."""

    def clean(value):
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, (float, np.floating)):
            return None if math.isnan(value) else float(value)
        return value.item() if isinstance(value, np.generic) else value

    return json.dumps(clean(metrics), indent=1)


def _table(rows: dict, columns) -> list[str]:
    """Markdown table: one row per key of ``rows``, 4 significant digits."""
    lines = ["| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in rows.items():
        lines.append(
            f"| {name} | "
            + " | ".join(f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in columns)
            + " |"
        )
    return lines


def _class_lines(spread: ClassSpread, classes: np.ndarray, limit: int = 5) -> list[str]:
    """The most spread classes and the closest pairs of class means, by name."""
    lines = ["| most spread classes | spread | size | nearest class (distance) |", "|---|---|---|---|"]
    for c in np.argsort(-spread.spread)[:limit]:
        partner, distance = classes[spread.nearest_class[c]], spread.nearest[c]
        lines.append(f"| {classes[c]} | {spread.spread[c]:.4g} | {spread.size[c]} | {partner} ({distance:.4g}) |")
    return lines


def report_text(metrics: dict, arrays: FigureArrays, classes: np.ndarray) -> str:
    """``report.md``: the numbers of ``metrics`` with the figures and a line on how to read each part."""
    info = metrics["input"]
    sample = metrics["sample_size"]
    sampled = f"a class-stratified sample of {sample:,}" if sample < info["num_samples"] else "all samples"
    lines = [
        "# vgteach diagnose",
        "",
        f"`{info['embeddings']}` ({info['num_samples']:,} × {info['dim']}) with labels `{info['labels']}` "
        f"({info['num_classes']:,} classes). Every number is on the L2-normalised embeddings z = e/‖e‖ "
        "(DESIGN.md §3); `metrics.json` holds them all.",
        "",
        *[f"> **warning:** {w}" for w in info["warnings"]],
        "",
        *_variance_section(metrics, arrays.classes, classes),
        *_geometry_section(metrics, sampled),
        *_retrieval_section(metrics, sampled),
        *_greediness_section(metrics),
        *_projection_section(arrays),
    ]
    return "\n".join(lines)


def _variance_section(metrics: dict, spread: ClassSpread, classes: np.ndarray) -> list[str]:
    return [
        "## VARIANCE",
        "",
        *_table({"all samples": metrics["variance"]}, list(metrics["variance"])),
        "",
        "`intra`: mean over classes of mean ‖z − μ_c‖²; `inter`: mean ‖μ_c − μ_c'‖² over class pairs; "
        "`centroid_dist_cv`: how uneven the spacing of the class means is.",
        "",
        "![VARIANCE](variance.png)",
        "",
        *_class_lines(spread, classes),
        "",
    ]


def _geometry_section(metrics: dict, sampled: str) -> list[str]:
    return [
        "## Geometry",
        "",
        *_table({sampled: metrics["geometry"]}, list(metrics["geometry"])),
        "",
        "Alignment and uniformity (Wang & Isola 2020, lower = tighter positives / more evenly spread), "
        "NC1 (Papyan et al. 2020, → 0 as classes collapse onto their means), effective rank (Roy & Vetterli "
        "2007).",
        "",
    ]


def _retrieval_section(metrics: dict, sampled: str) -> list[str]:
    return [
        "## Retrieval",
        "",
        *_table({"leave-one-out": metrics["retrieval"]}, list(metrics["retrieval"])),
        "",
        f"Cosine kNN, each sample queries all others; classes with one sample are not queries. NMI: k-means "
        f"with K = number of classes on {sampled}, best of {metrics['nmi_restarts']} restart(s).",
        "",
        "![retrieval](retrieval.png)",
        "",
    ]


def _greediness_section(metrics: dict) -> list[str]:
    settings = metrics["greediness_settings"]
    first = next(iter(metrics["greediness"].values()))
    return [
        "## GREEDINESS each loss would have on these embeddings",
        "",
        *_table(metrics["greediness"], [c for c in GREEDINESS_TABLE if c in first]),
        "",
        f"Means over {settings['batches']} class-balanced batches of {settings['batch_size']} "
        f"({settings['classes_per_batch']} classes × {settings['m_per_class']}), default hyper-parameters; "
        "ArcFace's and CCL's proxies are the class means (the state converged proxies reach). "
        "`active_ratio`: share of the loss's terms still pushing; `sample_active_ratio`: share of samples with "
        "a gradient; `grad_gini`: inequality of the per-sample gradient norms (high = few large updates).",
        "",
        "![GREEDINESS](greediness.png)",
        "",
    ]


def _projection_section(arrays: FigureArrays) -> list[str]:
    if arrays.projection is None:
        return [
            "## 2-D projection",
            "",
            "No projection: the embeddings have a single column (D = 1), so there is no plane to project them "
            "on; the tables above describe them whole.",
            "",
        ]
    return ["## 2-D projection", "", "![projection](projection.png)", ""]


def write_report(folder: Path, metrics: dict, arrays: FigureArrays, classes: np.ndarray) -> None:
    """Figures, ``report.md`` and ``metrics.json`` into ``folder``."""
    spread, variance = arrays.classes, metrics["variance"]
    figures = {
        "variance.png": variance_figure(
            spread.spread, spread.nearest, spread.pair_distances, variance["intra"], variance["centroid_dist_cv"]
        ),
        "retrieval.png": retrieval_figure(metrics["retrieval"]),
        "greediness.png": greediness_figure(metrics["greediness"]),
    }
    if arrays.projection is not None:
        title = "a stratified sample, first two principal components"
        figures["projection.png"] = projection_figure(
            arrays.projection.points, arrays.projection.codes, title, class_names=classes
        )
    for name, fig in figures.items():
        save_figure(fig, folder / name)
    (folder / "report.md").write_text(report_text(metrics, arrays, classes), encoding="utf-8")
    (folder / "metrics.json").write_text(to_json(metrics), encoding="utf-8")
