"""`lakehouse` command line: a thin shell over `lakehouse.api.Lakehouse`.

User mistakes (LakehouseError) print one line on stderr and exit non-zero, without a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from lakehouse.errors import LakehouseError, UsageError
from lakehouse.output import Output, frame_records, frame_to_text

Handler = Callable[[argparse.Namespace, Output], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    output = Output(json_mode=getattr(args, "json", False))
    try:
        return int(args.handler(args, output))
    except LakehouseError as exc:
        print(f"lakehouse: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lakehouse: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lakehouse",
        description="Versioned computer-vision datasets on Apache Iceberg.",
        epilog="Configuration: --config FILE or LAKEHOUSE_CONFIG, LAKEHOUSE_HOME "
        "(default ./.lakehouse), LAKEHOUSE_<SECTION>_<KEY> variables, RAY_ADDRESS.",
    )
    parser.add_argument("--config", help="TOML file overriding conf/default.toml")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    init = _command(commands, "init", "create the catalog, warehouse and control tables", _init)
    _json_flag(init)

    ingest = _command(commands, "ingest", "ingest image files and directory trees", _ingest)
    ingest.add_argument("roots", nargs="+", metavar="PATH", help="files or directories")
    ingest.add_argument("--dataset", "-d", required=True, help="dataset to ingest into")
    ingest.add_argument("--branch", default="main",
                        help="branch to publish to (default main, through a work branch)")
    ingest.add_argument("--attr", action="append", default=[], metavar="KEY=VALUE",
                        help="capture attribute stored with every new asset (repeatable)")
    ingest.add_argument("--policy", help="policy name (quality/policies/NAME.toml) or path")
    ingest.add_argument("--message", "-m", help="version message")
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar")
    _json_flag(ingest)

    sql = _command(commands, "sql", "run SQL over a dataset's tables at a version", _sql)
    sql.add_argument("query", help="SQL; tables: assets, sources, quarantine")
    sql.add_argument("--dataset", "-d", required=True)
    _version_options(sql)
    sql.add_argument("--format", "-f", choices=("table", "json", "csv"), default="table")

    datasets = _command(commands, "datasets", "list datasets and their refs", _datasets)
    _json_flag(datasets)

    log = _command(commands, "log", "list a dataset's versions, newest first", _log)
    log.add_argument("dataset")
    log.add_argument("--limit", "-n", type=int, default=None)
    _json_flag(log)

    demo = _command(commands, "demo", "ingest a messy sample drop made from bundled photos",
                    _demo)
    demo.add_argument("--dataset", default="demo")
    demo.add_argument("--dir", help="where to write the sample drop (default: $LAKEHOUSE_HOME/demo-drop)")
    _json_flag(demo)
    return parser


def _command(
    commands: Any, name: str, summary: str, handler: Handler
) -> argparse.ArgumentParser:
    sub = commands.add_parser(name, help=summary, description=summary)
    sub.set_defaults(handler=handler)
    return sub


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def _version_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--ref", help="branch or tag (default main)")
    group.add_argument("--snapshot", type=int, help="Iceberg snapshot id of any dataset table")


def _open(args: argparse.Namespace) -> Any:
    from lakehouse.api import Lakehouse

    return Lakehouse.open(config_file=args.config)


def _init(args: argparse.Namespace, out: Output) -> int:
    info = _open(args).init()
    out.result(info, "\n".join(f"{key:10} {value}" for key, value in info.items()))
    return 0


def _parse_attrs(pairs: list[str]) -> dict[str, str]:
    attrs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--attr expects KEY=VALUE, got {pair!r}")
        attrs[key] = value
    return attrs


def _ingest(args: argparse.Namespace, out: Output) -> int:
    from tqdm import tqdm

    lh = _open(args)
    attrs = _parse_attrs(args.attr)
    bar = tqdm(unit="file", desc="ingest", disable=args.no_progress or None, file=sys.stderr)

    def on_total(total: int) -> None:
        bar.total = total
        bar.refresh()

    try:
        report = lh.ingest(args.roots, args.dataset, ref=args.branch, attrs=attrs,
                           message=args.message, policy=args.policy,
                           on_progress=bar.update, on_total=on_total if not bar.disable else None)
    finally:
        bar.close()
    out.result(report.to_dict(), _ingest_text(report))
    return 0


def _ingest_text(report: Any) -> str:
    lines = [
        f"ingest {report.ingest_id} -> {report.dataset}@{report.ref} "
        f"(version {report.version_id}{', resumed' if report.resumed else ''})",
        f"  files found  {report.files}",
        *(f"  {outcome:12} {n}" for outcome, n in report.counts.items()),
    ]
    if report.reasons:
        lines.append("  quarantine reasons: " + ", ".join(
            f"{code} x{n}" for code, n in sorted(report.reasons.items())))
    lines.append(f"  assets snapshot {report.snapshots['assets']}  ({report.seconds:.1f} s)")
    return "\n".join(lines)


def _sql(args: argparse.Namespace, out: Output) -> int:
    frame = _open(args).sql(args.query, args.dataset, ref=args.ref, snapshot_id=args.snapshot)
    print(frame_to_text(frame, args.format))
    return 0


def _datasets(args: argparse.Namespace, out: Output) -> int:
    lh = _open(args)
    data = {name: [{"ref": r.name, "kind": r.kind, "version_id": r.version_id}
                   for r in lh.control.refs(name)]
            for name in lh.datasets()}
    text = "\n".join(
        f"{name}  " + ", ".join(f"{r['ref']}({r['kind']})={r['version_id']}" for r in refs)
        for name, refs in data.items()
    ) or "(no datasets yet: lakehouse ingest PATH --dataset NAME)"
    out.result(data, text)
    return 0


def _log(args: argparse.Namespace, out: Output) -> int:
    versions = _open(args).log(args.dataset, args.limit)
    data = [
        {"version_id": v.version_id, "parent_id": v.parent_id, "created_at": v.created_at,
         "actor": v.actor, "operation": v.operation, "message": v.message,
         "snapshots": dict(v.snapshots), "properties": dict(v.properties)}
        for v in versions
    ]
    text = "\n".join(
        f"{v.version_id:>6}  {v.created_at:%Y-%m-%d %H:%M:%S}  {v.actor:10} {v.operation:8} "
        f"{v.message}" for v in versions
    )
    out.result(data, text)
    return 0


def _demo(args: argparse.Namespace, out: Output) -> int:
    from lakehouse.demo import run_demo

    summary = run_demo(_open(args), args.dataset, args.dir)
    out.result(summary, summary["text"])
    return 0


__all__ = ["build_parser", "frame_records", "main"]
