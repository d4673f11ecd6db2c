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
    p.add_argument("names", nargs="*", help="profiles in params/profiles/, applied in order (none: defaults)")
    p.add_argument("--params-dir", default="params")
    p = sub.add_parser("check-params", help="validate a stage's params file")
    p.add_argument("stage", choices=sorted(config.SCHEMA))
    p.add_argument("file")
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
    elif args.command == "html":
        from .report import to_html
        print(f"wrote {to_html(args.executed, args.html)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
