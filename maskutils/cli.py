"""The `maskutils` command: prepare data, switch params profiles, check params, render HTML."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="maskutils", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="build the manifest, quality flags, splits and image cache")
    p.add_argument("--params", default="params/prepare.yaml")
    p.add_argument("--out", default="data/prepared")
    p = sub.add_parser("profile", help="write params/*.yaml from defaults and the named profiles")
    p.add_argument("names", nargs="*", help="profiles in params/profiles/, applied in order (none: default)")
    p.add_argument("--params-dir", default="params")
    p = sub.add_parser("check-params", help="validate a stage's params file")
    p.add_argument("stage", choices=sorted(config.SCHEMA))
    p.add_argument("file")
    p = sub.add_parser("predict", help="classify image files and folders with a trained model")
    p.add_argument("paths", nargs="+", help="image files or folders (searched recursively)")
    p.add_argument("--model", default="models/cnn.pt")
    p.add_argument("--out", default="predictions.csv", help="CSV with every class probability")
    from . import index
    index.add_arguments(sub.add_parser("index", help="write reports/index.html: headline numbers, links, params, provenance"))
    p = sub.add_parser("html", help="render an executed notebook to offline HTML")
    p.add_argument("executed")
    p.add_argument("html")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (config.ParamsError, FileNotFoundError, ValueError, KeyError) as exc:
        print(f"maskutils {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.command == "prepare":
        from .prepare import run
        info = run(config.load("prepare", args.params), Path(args.out))
        print(f"prepared {info['n_images']} images from {info['n_files']} files "
              f"({info['n_problems']} problems) in {info['seconds']['total']:.1f} s -> {args.out}")
    elif args.command == "profile":
        for path in config.write_params(Path(args.params_dir), args.names):
            print(f"wrote {path}")
    elif args.command == "check-params":
        config.load(args.stage, args.file)
        print(f"{args.file}: ok")
    elif args.command == "predict":
        from .predict import classify
        table, problems = classify(args.paths, args.model)
        if len(table):
            print(table[["file", "class", "probability"]].to_string(index=False, float_format="%.3f"))
            table.to_csv(args.out, index=False)
            print(f"\n{len(table)} images classified -> {args.out}")
        for p in problems:
            print(f"skipped {p['file']}: {p['reason']}", file=sys.stderr)
        if not len(table):
            print("maskutils predict: error: no readable image among the paths given", file=sys.stderr)
            return 2
    elif args.command == "index":
        from .index import build_index
        out = build_index(args.reports, args.params, args.out)
        print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")
    elif args.command == "html":
        from .report import to_html
        print(f"wrote {to_html(args.executed, args.html)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
