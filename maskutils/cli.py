"""The `maskutils` command: prepare data, run a stage, switch params profiles, check params,
classify photos, write the reports index and the model card."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from maskutils.core.files import atomic, writable_file, writable_folder
from maskutils.core.params import ParamsError, write_params


def _detector_options(p: argparse.ArgumentParser) -> None:
    """`predict --faces` options from the detector's params rows (defaults and help, once)."""
    from maskutils.modeling.detectors.params import DETECTOR
    from maskutils.stages.detect.params import SCHEMA as DETECT

    for row in DETECTOR:
        flag = "--detector" if row.key == "kind" else "--" + row.key.replace("_", "-")
        many = isinstance(row.default, list)  # e.g. --thresholds 0.6 0.7 0.7
        p.add_argument(
            flag,
            dest=f"detector_{row.key}",
            type=float if many else type(row.default),
            nargs=len(row.default) if many else None,
            default=row.default,
            help=f"{row.help} (default {row.default})",
        )
    margin = next(r for r in DETECT.rows if r.key == "margin")
    p.add_argument("--margin", type=float, default=margin.default, help=margin.help)


def _check_face_options(detector: dict, margin: float) -> None:
    """`predict --faces` options checked against the same rows as params/detect.yaml."""
    from maskutils.core.params import Schema
    from maskutils.modeling.detectors.params import DETECTOR
    from maskutils.stages.detect.params import SCHEMA as DETECT

    rows = DETECTOR + [next(r for r in DETECT.rows if r.key == "margin")]
    Schema("predict", rows).validate({**detector, "margin": margin}, origin="options")


def main(argv: list[str] | None = None) -> int:
    from maskutils.stages import STAGES

    parser = argparse.ArgumentParser(prog="maskutils", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="build the manifest, quality flags, splits and image cache")
    p.add_argument("--params", default="params/prepare.yaml")
    p.add_argument("--out", default="data/prepared")
    p = sub.add_parser("stage", help="run one stage's notebook and render its report")
    p.add_argument("name", choices=[s.name for s in STAGES if s.notebook])
    p = sub.add_parser("profile", help="write params/*.yaml from defaults and the named profiles")
    p.add_argument(
        "names", nargs="*", help="profiles in params/profiles/, applied in order (none: default)"
    )
    p.add_argument("--params-dir", default="params")
    p = sub.add_parser("check-params", help="validate a stage's params file")
    p.add_argument("stage", choices=[s.name for s in STAGES])
    p.add_argument("file")
    p = sub.add_parser(
        "predict",
        help="classify image files and folders with a trained model; "
        "with --faces, find and classify every face in scenes",
    )
    p.add_argument(
        "paths", nargs="*", help="image files or folders (searched recursively), each one face"
    )
    p.add_argument("--model", default="models/study.pt")
    p.add_argument(
        "--out", default="predictions.csv", help="CSV with every class probability (or every face)"
    )
    p.add_argument(
        "--faces",
        nargs="+",
        metavar="SCENE",
        default=[],
        help="scene images or folders: detect faces, classify each",
    )
    p.add_argument(
        "--out-dir",
        help="with --faces: write <scene>.faces.png (boxes drawn) and <scene>.faces.json",
    )
    _detector_options(p)
    from maskutils.publish import index

    index.add_arguments(
        sub.add_parser(
            "index", help="write reports/index.html: headline numbers, links, params, provenance"
        )
    )
    from maskutils.publish.card import page as card

    card.add_arguments(
        sub.add_parser(
            "card",
            help="write reports/model_card.html: the studied model's card, every number from "
            "reports/metrics/*.json and params/*.yaml",
        )
    )
    p = sub.add_parser(
        "grid",
        help="cross-validate datasets x models x seeds, here or as Ray tasks (docs/cluster.md)",
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        default=["default"],
        help="params profiles, joined by + (mask4+bias)",
    )
    p.add_argument("--models", nargs="+", default=["transfer"], choices=("transfer", "cnn"))
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument(
        "--set", action="append", default=[], metavar="STAGE.KEY=VALUE", help="a params override"
    )
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--workers", type=int, default=1, help="local: runs at a time (processes)")
    p.add_argument("--address", help="ray: the cluster (host:port); default $RAY_ADDRESS or local")
    p.add_argument("--threads", type=int, help="torch threads per run (default: cpus / workers)")
    p.add_argument("--params-dir", default="params")
    p.add_argument("--out", default="data/grid")
    p = sub.add_parser("params-doc", help="write docs/params.md from the params rows")
    p.add_argument("--out", default="docs/params.md")
    p = sub.add_parser("dvc-yaml", help="write dvc.yaml from the stage declarations")
    p.add_argument("--out", default="dvc.yaml")
    p = sub.add_parser("html", help="render an executed notebook to offline HTML")
    p.add_argument("executed")
    p.add_argument("html")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (ParamsError, FileNotFoundError, ValueError, KeyError) as exc:
        print(f"maskutils {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.command == "prepare":
        from maskutils.prepare.params import SCHEMA
        from maskutils.prepare.run import run

        info = run(SCHEMA.load(args.params), Path(args.out))
        print(
            f"prepared {info['n_images']} images from {info['n_files']} files "
            f"({info['n_problems']} problems) in {info['seconds']['total']:.1f} s -> {args.out}"
        )
    elif args.command == "stage":
        from maskutils.publish.runner import run_stage
        from maskutils.stages import get

        run_stage(get(args.name))
    elif args.command == "profile":
        from maskutils.stages import SCHEMAS

        for path in write_params(Path(args.params_dir), args.names, SCHEMAS):
            print(f"wrote {path}")
    elif args.command == "check-params":
        from maskutils.stages import get

        get(args.stage).schema.load(args.file)
        print(f"{args.file}: ok")
    elif args.command == "predict" and args.faces:
        return _predict_faces(args)
    elif args.command == "predict":
        if not args.paths:
            print(
                "maskutils predict: error: give image paths, or scenes with --faces",
                file=sys.stderr,
            )
            return 2
        from maskutils.modeling.predict import classify

        out = writable_file(args.out)  # before the work, so no result is lost to a bad --out
        table, problems = classify(args.paths, args.model)
        if len(table):
            print(
                table[["file", "class", "probability"]].to_string(index=False, float_format="%.3f")
            )
            with atomic(out) as tmp:
                table.to_csv(tmp, index=False)
            print(f"\n{len(table)} images classified -> {args.out}")
        for p in problems:
            print(f"skipped {p['file']}: {p['reason']}", file=sys.stderr)
        if not len(table):
            print(
                "maskutils predict: error: no readable image among the paths given", file=sys.stderr
            )
            return 2
    elif args.command == "index":
        from maskutils.publish.index import build_index

        out = build_index(args.reports, args.params, args.out)
        print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")
    elif args.command == "card":
        from maskutils.publish.card import write_card

        out = write_card(Path(args.reports), Path(args.params), Path(args.out))
        print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")
    elif args.command == "grid":
        import os

        from maskutils.experiments import grid

        threads = args.threads or max(1, (os.cpu_count() or 1) // args.workers)
        todo = grid.jobs(
            args.datasets, args.models, args.seeds, args.set, Path(args.params_dir), threads
        )
        out = writable_folder(args.out)
        print(f"{len(todo)} runs, {args.executor} executor, {threads} torch threads each")
        table = grid.run(todo, out, args.executor, args.workers, args.address)
        print(f"wrote {table}")
    elif args.command == "params-doc":
        from maskutils.publish import params_doc

        print(f"wrote {params_doc.write(args.out)}")
    elif args.command == "dvc-yaml":
        from maskutils.stages import dvc_yaml

        with atomic(writable_file(args.out)) as tmp:
            tmp.write_text(dvc_yaml.text())
        print(f"wrote {args.out}")
    elif args.command == "html":
        from maskutils.publish.html import to_html

        print(f"wrote {to_html(args.executed, args.html)}")
    return 0


def _predict_faces(args) -> int:
    import pandas as pd

    from maskutils.modeling.faces import annotate_files

    if args.paths:
        print(
            "maskutils predict: error: give scenes after --faces only, not also as plain paths",
            file=sys.stderr,
        )
        return 2
    detector = {
        k[len("detector_") :]: v for k, v in vars(args).items() if k.startswith("detector_")
    }
    _check_face_options(detector, args.margin)
    out = writable_file(args.out)  # before the work, so no result is lost to a bad --out
    if args.out_dir is not None:
        writable_folder(args.out_dir, "--out-dir")
    results, problems = annotate_files(args.faces, args.model, args.out_dir, detector, args.margin)
    rows = [
        {
            "file": r["file"],
            "face": k,
            **{c: f[c] for c in ("x0", "y0", "x1", "y1", "class", "probability")},
            **{f"p_{c}": v for c, v in f["probabilities"].items()},
        }
        for r in results
        for k, f in enumerate(r["faces"])
    ]
    for r in results:
        found = (
            ", ".join(f"{f['class']} {f['probability']:.2f}" for f in r["faces"]) or "no face found"
        )
        print(
            f"{r['file']}: {len(r['faces'])} face(s): {found}"
            + (f" -> {r['annotated']}" if "annotated" in r else "")
        )
    if results:
        with atomic(out) as tmp:
            pd.DataFrame(
                rows,
                columns=["file", "face", "x0", "y0", "x1", "y1", "class", "probability"]
                + [k for k in (rows[0] if rows else {}) if k.startswith("p_")],
            ).to_csv(tmp, index=False)
        print(f"\n{len(rows)} faces in {len(results)} scenes -> {args.out}")
    for p in problems:
        print(f"skipped {p['file']}: {p['reason']}", file=sys.stderr)
    if not results:
        print("maskutils predict: error: no readable scene among the paths given", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
