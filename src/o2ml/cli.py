"""The ``o2ml`` command line: ``o2ml info FILE``, ``o2ml generate ...`` and friends.

Errors a user can cause are printed as one readable line (no traceback) with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .errors import O2mlError


def _cmd_info(args: argparse.Namespace) -> int:
    from .io import describe
    from .schema import find_table

    for path in args.files:
        print(f"{path}")
        infos = describe(path)
        if not infos:
            print("  no table (TTree) in this file")
        for info in infos:
            table = find_table(info.tree)
            label = f"{info.tree} (table {table.name})" if table else info.tree
            folders = f"in {len(info.paths)} DF_ folders" if len(info.paths) > 1 else ""
            print(f"  {label}: {info.entries} entries {folders}".rstrip())
            if args.columns or len(args.files) == 1:
                for name, dtype in info.columns.items():
                    note = ""
                    if table is not None and name in table:
                        col = table[name]
                        extra = [col.unit] if col.unit else []
                        extra += ["MC only"] if col.mc else []
                        extra += ["synthetic truth"] if col.truth else []
                        note = f"  [{', '.join(extra)}]" if extra else ""
                    print(f"    {name:<28} {dtype}{note}")
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from .toymc.generate import generate

    generate(
        args.sample,
        args.out,
        seed=args.seed,
        n_data=args.n_data,
        n_mc=args.n_mc,
        with_truth=args.with_truth,
        fast=args.fast,
        overwrite=args.overwrite,
        folders=args.folders,
        progress=not args.quiet,
    )
    return 0


def _not_yet(name: str):
    def run(args: argparse.Namespace) -> int:
        print(f"o2ml {name}: not available yet in o2ml {__version__}.", file=sys.stderr)
        return 3

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="o2ml",
        description="Machine learning for ALICE O2 analyses: data, models, selection, export.",
    )
    parser.add_argument("--version", action="version", version=f"o2ml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="list the tables, entries and columns of ROOT/parquet files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--columns", action="store_true", help="list columns also for several files")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("generate", help="write synthetic ALICE-like samples (O2Physics layout)")
    p.add_argument("sample", choices=["ds", "lc", "pid", "all"])
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--n-data", type=int, default=None, help="data candidates/tracks per sample")
    p.add_argument("--n-mc", type=int, default=None, help="MC candidates/tracks per sample")
    p.add_argument(
        "--with-truth", action="store_true", help="add the fTruth* columns to data files"
    )
    p.add_argument("--fast", action="store_true", help="small samples (as O2ML_FAST=1)")
    p.add_argument("--folders", type=int, default=4, help="number of DF_ folders per file")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_generate)

    for name, text in [
        ("train", "train the models of an analysis"),
        ("scan", "scan score thresholds: efficiency, expected significance, plateau"),
        ("export", "export models to ONNX and the O2Physics MlResponse configuration"),
        ("apply", "apply trained models to many files"),
        ("bench", "measure inference backends"),
    ]:
        p = sub.add_parser(name, help=f"{text} (coming)")
        p.set_defaults(func=_not_yet(name))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except O2mlError as err:
        print(f"o2ml {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
