"""The ``o2ml`` command line: ``o2ml info FILE``, ``o2ml generate ...`` and friends.

Errors a user can cause are printed as one readable line (no traceback) with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .errors import BadArgumentError, O2mlError


def _cmd_info(args: argparse.Namespace) -> int:
    from .io import describe
    from .schema import find_table

    for path in args.files:
        print(f"{path}")
        infos = describe(path)
        if not infos:
            print("  no table (TTree or RNTuple) in this file")
        for info in infos:
            table = find_table(info.tree)
            label = f"{info.tree} (table {table.name})" if table else info.tree
            folders = f"in {len(info.paths)} DF_ folders" if len(info.paths) > 1 else ""
            kind = f" ({info.kind})" if info.kind == "RNTuple" else ""
            print(f"  {label}{kind}: {info.entries} entries {folders}".rstrip())
            if table is not None:
                _print_missing(table, info.columns)
            if args.columns or len(args.files) == 1:
                for name, dtype in info.columns.items():
                    note = ""
                    if table is not None and name in table:
                        col = table[name]
                        extra = [col.unit] if col.unit else []
                        if col.mc:
                            extra.append("MC; 0 in data" if table.mc_in_data else "MC only")
                        extra += ["synthetic truth"] if col.truth else []
                        note = f"  [{', '.join(extra)}]" if extra else ""
                    print(f"    {name:<28} {dtype}{note}")
    return 0


def missing_columns(table, columns) -> list[str]:
    """The declared columns of ``table`` that a file's tree with ``columns`` lacks: those of an
    MC file if it holds an MC-only column, else those of a data file (truth columns never)."""
    have = set(columns)
    is_mc = any(c.mc and not table.mc_in_data and c.name in have for c in table.columns)
    return [c for c in table.column_names("mc" if is_mc else "data") if c not in have]


def _print_missing(table, columns) -> None:
    missing = missing_columns(table, columns)
    if missing:
        follows = f" (o2ml follows {table.source} @ {table.commit[:8]})" if table.commit else ""
        print(
            f"  lacks {len(missing)} declared column(s) of {table.name}{follows}: "
            f"{', '.join(missing)}; an older producer? It is read; code that needs them says so."
        )


def _cmd_generate(args: argparse.Namespace) -> int:
    from .toymc.generate import SAMPLES, ensure_sample, generate

    if args.if_needed:
        if args.n_data or args.n_mc or args.overwrite or not args.with_truth or args.folders != 4:
            raise BadArgumentError(
                "generate --if-needed makes the default sample (with --with-truth, default sizes "
                "and folders); drop --n-data/--n-mc/--folders/--overwrite."
            )
        for sample in SAMPLES if args.sample == "all" else [args.sample]:
            ensure_sample(sample, args.out, seed=args.seed, fast=args.fast)
        return 0
    generate(
        args.sample,
        args.out,
        seed=args.seed,
        sizes=("fast" if args.fast else "full", args.n_data, args.n_mc),
        with_truth=args.with_truth,
        overwrite=args.overwrite,
        folders=args.folders,
        progress=not args.quiet,
    )
    return 0


def _table(args: argparse.Namespace, model) -> str:
    """``--table``, else the table of the model's selector (its channel's tree creator)."""
    if args.table is not None:
        return args.table
    from .channels import find_selector

    selector = find_selector(model.config.task)
    if selector is None:
        raise BadArgumentError(
            f"{args.model}: task {model.config.task!r} is no selector o2ml knows the table of; "
            "pass --table."
        )
    return selector.table


def _cmd_apply(args: argparse.Namespace) -> int:
    from .inference import BinnedModel, Execution, apply_files

    columns = [c for c in args.columns.split(",") if c] if args.columns is not None else None
    execution = Execution(
        backend=args.backend,
        scheduler=args.scheduler,
        workers=args.workers,
        threads=args.threads,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    report = apply_files(
        BinnedModel.load(args.model, args.task, features=_features(args)),
        args.input,
        args.out,
        table=args.table,
        fmt=args.format,
        pt_column=args.pt_column,
        execution=execution,
        **({} if columns is None else {"columns": columns}),
    )
    print(report.summary())
    return 0 if report.ok else 1


def _cmd_bench(args: argparse.Namespace) -> int:
    from .inference.bench import bench_model, format_report
    from .inference.model import BinnedModel
    from .io import read_table

    model = BinnedModel.load(args.model, args.task, features=_features(args))
    table = _table(args, model)
    if args.input is None:  # the synthetic sample of the model's channel
        from .channels import get
        from .toymc.generate import ensure_sample

        args.input = [ensure_sample(get(table).NAME).data]
    candidates = read_table(args.input, table, columns=[*model.features, args.pt_column])
    if not 0 <= args.bin < len(model.onnx_paths):
        raise BadArgumentError(
            f"--bin {args.bin}: the model has pT bins 0..{len(model.onnx_paths) - 1}."
        )
    print(f"measuring {', '.join(args.backends)} ...", file=sys.stderr)
    table, info = bench_model(
        model, candidates, bin_index=args.bin, backends=args.backends, n=args.n,
        threads=args.threads, pt_column=args.pt_column,
    )  # fmt: skip
    print(format_report(table, info))
    return 0


def _features(args: argparse.Namespace) -> list[str] | None:
    return [c for c in args.features.split(",") if c] if args.features else None


def _add_model_options(p) -> None:
    p.add_argument(
        "--model",
        required=True,
        help="o2ml model directory, or an O2Physics configuration (dpl-config JSON with one "
        "task's ML configurables, the ONNX files it names beside it)",
    )
    p.add_argument("--task", default=None, help="the task of the configuration (if it has several)")
    p.add_argument(
        "--features",
        default=None,
        help="comma-separated tree columns of the model's inputs, in order, for a configuration "
        "without namesInputFeatures (a custom task) or of a task o2ml has no table of",
    )


def _report(command: str, report) -> int:
    """Print a workflow report: the config's unknown keys as warnings, then its summary."""
    for line in report.config.unknown:
        print(f"o2ml {command}: warning: {line} (not used)", file=sys.stderr)
    print(report.summary())
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from .workflow import prepare

    return _report("prepare", prepare(args.config, overwrite=args.overwrite))


def _cmd_train(args: argparse.Namespace) -> int:
    from .workflow import train

    report = train(
        args.config, overwrite=args.overwrite, progress=not args.quiet, workers=args.workers,
        scheduler=args.scheduler, resume=args.resume,
    )  # fmt: skip
    return _report("train", report)


def _cmd_export(args: argparse.Namespace) -> int:
    from .workflow.export import export

    path = export(
        args.scan, args.out, thresholds=args.thresholds, task=args.task, overwrite=args.overwrite
    )
    print(f"wrote {path}")
    return 0


def _cmd_scan(args: argparse.Namespace) -> int:
    from .inference import BinnedModel
    from .workflow.scan import Execution, scan

    model = BinnedModel.load(args.model, args.task, features=_features(args))
    run = Execution(args.backend, args.step, args.workers, args.scheduler)
    written = scan(
        model, args.data, args.mc, args.out, expected_signal=args.expected_signal,
        table=args.table, overwrite=args.overwrite, execution=run,
    )  # fmt: skip
    for path in written:
        print(f"wrote {path}")
    return 0


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
    from .channels import CHANNELS  # the charm samples: one per channel

    p.add_argument("sample", choices=[*CHANNELS, "pid", "tpc", "all"])
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
    p.add_argument(
        "--if-needed",
        action="store_true",
        help="keep a sample whose manifest matches (seed, sizes, generator version, checksums); "
        "make o2ml's own samples of other settings again; never replace other files",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser(
        "prepare",
        help="split tree-creator MC into Bkg/Prompt/Nonprompt files (O2Physics config_preparation_*.yml)",
    )
    p.add_argument("config", metavar="CONFIG.yml", help="an O2Physics D2H preparation config")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(func=_cmd_prepare)

    p = sub.add_parser(
        "train",
        help="train one model per pT bin (O2Physics config_training_*.yml): plots, ONNX, JSON",
    )
    p.add_argument("config", metavar="CONFIG.yml", help="an O2Physics D2H training config")
    p.add_argument("--overwrite", action="store_true", help="replace the files of earlier runs")
    p.add_argument(
        "--resume", action="store_true",
        help="keep the pT bins an earlier run of this config finished; train the others",
    )  # fmt: skip
    _add_dask_options(p, "pT bins in parallel on a local dask cluster of N processes")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_train)

    _add_apply(sub)
    _add_bench(sub)
    p = sub.add_parser(
        "export", help="the O2Physics MlResponse configuration of thresholds chosen on saved scans"
    )
    p.add_argument(
        "--scan", required=True, metavar="DIR", help="folder of scan files (one per pT bin)"
    )
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--thresholds", metavar="FILE", help='JSON {"lo-hi": {column: [dir, value]}}')
    how.add_argument(
        "--plateau", action="store_true", help="each bin's most efficient plateau point"
    )
    p.add_argument("--out", required=True, metavar="JSON", help="the configuration to write")
    p.add_argument("--task", default=None, help="O2Physics task (default: the scans' task)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "scan", help="expected significance vs threshold per pT bin of a model: scan files"
    )
    _add_model_options(p)
    p.add_argument("--data", required=True, nargs="+", metavar="FILE", help="data files or globs")
    p.add_argument("--mc", required=True, nargs="+", metavar="FILE", help="MC files or globs")
    p.add_argument(
        "--expected-signal", required=True, metavar="JSON", help="expected signal per pT bin"
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="folder for scan_pt*.json and grid_pt*.npz"
    )
    p.add_argument("--table", default=None, help="the candidates' table (default: the task's)")
    p.add_argument("--backend", default="auto", help="auto, xgboost or onnxruntime")
    p.add_argument("--overwrite", action="store_true", help="replace existing scan files")
    p.add_argument(
        "--step", type=int, default=1_000_000, help="candidates per chunk (memory: one chunk)"
    )
    _add_dask_options(p, "files as tasks of a local dask cluster of N processes")
    p.set_defaults(func=_cmd_scan)

    p = sub.add_parser("answers", help="tutors: hand out the notebooks without their answers")
    what = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    q = what.add_parser("strip", help="copy notebooks without the cells tagged 'answer'")
    q.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    q.add_argument("--out", required=True, metavar="DIR", help="folder for the handouts")
    q.add_argument("--overwrite", action="store_true", help="replace existing handouts")
    q.set_defaults(func=_cmd_answers_strip)
    return parser


def _cmd_answers_strip(args: argparse.Namespace) -> int:
    from .answers import strip

    for path, n in strip(args.notebooks, args.out, overwrite=args.overwrite).items():
        print(f"wrote {path} ({n} answer cells removed)")
    return 0


def _add_dask_options(p: argparse.ArgumentParser, workers_help: str) -> None:
    p.add_argument("--workers", type=int, default=1, metavar="N", help=workers_help)
    p.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="join the dask scheduler at ADDRESS (tcp://host:port: SWAN's, a batch system's)",
    )  # fmt: skip


def _add_apply(sub) -> None:
    from .inference.backends import BACKENDS

    p = sub.add_parser(
        "apply",
        help="score many files with per-pT-bin models (dask); one output per input",
        description="Score every candidate of every input file with the model of its pT bin and "
        "write the scores plus the chosen columns, one output per input. Outputs already "
        "complete are skipped, so an interrupted run is resumed by running it again. Exit code "
        "1 if any file failed (each is listed).",
    )
    _add_model_options(p)
    p.add_argument("--input", required=True, nargs="+", help="input files or glob patterns")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument(
        "--backend",
        default="auto",
        choices=["auto", *BACKENDS],
        help="auto: XGBoost if its JSON models are there (fastest in bulk here), else onnxruntime",
    )
    p.add_argument("--format", default="parquet", choices=["parquet", "root"])
    p.add_argument(
        "--table", default=None, help="input table (default: that of the model's selector)"
    )
    p.add_argument(
        "--columns",
        default=None,
        help="comma-separated input columns to copy next to the scores (default fM,fPt)",
    )
    p.add_argument("--pt-column", default="fPt", help="column that selects the pT-bin model")
    p.add_argument(
        "--scheduler",
        default=None,
        help="dask scheduler address to join (tcp://host:8786), or 'synchronous' (no dask); "
        "default: a local cluster on 127.0.0.1",
    )
    p.add_argument(
        "--workers", type=int, default=None, help="local cluster workers (default: cores)"
    )
    p.add_argument("--threads", type=int, default=1, help="threads per worker's model (default 1)")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that are not current")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_apply)


def _add_bench(sub) -> None:
    from .inference.backends import BACKENDS

    p = sub.add_parser("bench", help="measure inference backends on your model")
    what = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    q = what.add_parser(
        "inference",
        help="latency at batch 1, throughput at batch 1k and in bulk, memory, score differences",
    )
    _add_model_options(q)
    q.add_argument(
        "--input", nargs="+", default=None,
        help="candidates (default: o2ml's synthetic sample of the model's channel)",
    )  # fmt: skip
    q.add_argument("--table", default=None, help="default: that of the model's selector")
    q.add_argument("--pt-column", default="fPt")
    q.add_argument("--bin", type=int, default=0, help="which pT bin's model (default 0)")
    q.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    q.add_argument("-n", type=int, default=100_000, help="candidates for bulk (default 100000)")
    q.add_argument("--threads", type=int, default=1)
    q.set_defaults(func=_cmd_bench)


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
