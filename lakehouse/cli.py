"""`lakehouse` command line: a thin shell over `lakehouse.api.Lakehouse`.

User mistakes (LakehouseError) print one line on stderr and exit non-zero, without a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from lakehouse.errors import LakehouseError, UsageError
from lakehouse.output import Output, frame_to_text

Handler = Callable[[argparse.Namespace, Output], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        args.parser.print_help(sys.stderr)
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
    parser.set_defaults(parser=parser)

    init = _command(commands, "init", "create the catalog, warehouse and control tables", _init)
    _json_flag(init)

    ingest = _command(commands, "ingest", "ingest image and video files and trees", _ingest)
    ingest.add_argument("roots", nargs="+", metavar="PATH", help="files or directories")
    ingest.add_argument("--dataset", "-d", required=True, help="dataset to ingest into")
    ingest.add_argument(
        "--branch",
        default="main",
        help="branch to publish to (default main, through a work branch)",
    )
    ingest.add_argument(
        "--attr",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="capture attribute stored with every new asset (repeatable)",
    )
    ingest.add_argument("--policy", help="policy name (quality/policies/NAME.toml) or path")
    ingest.add_argument("--message", "-m", help="version message")
    ingest.add_argument(
        "--labels",
        metavar="PATH",
        help="COCO JSON file or YOLO directory labelling the images of the root",
    )
    ingest.add_argument(
        "--label-source",
        help="stable name of the labels (default: the file's "
        "uri); a re-import under the same name replaces only changed labels",
    )
    ingest.add_argument(
        "--labels-prefix",
        metavar="DIR",
        help="directory of the labels' file names below the root (guessed)",
    )
    ingest.add_argument(
        "--rehash",
        action="store_true",
        help="read and hash every file, also those unchanged (same size, mtime, ctime, inode) "
        "since an earlier ingest hashed them",
    )
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar")
    _json_flag(ingest)

    sql = _command(commands, "sql", "run SQL over a dataset's tables at a version", _sql)
    sql.add_argument(
        "query",
        help="SQL over the tables assets, sources, quarantine, annotations, "
        "videos, checks, duplicates; or @NAME for a named query in sql/ or "
        "quality/checks/ (lakehouse queries lists them)",
    )
    sql.add_argument("--dataset", "-d", required=True)
    _version_options(sql)
    sql.add_argument("--format", "-f", choices=("table", "json", "csv"), default="table")

    queries = _command(
        commands, "queries", "list the named queries (sql/, quality/checks/)", _queries
    )
    _json_flag(queries)

    validate = _command(
        commands,
        "validate",
        "re-check a branch's assets against a policy "
        "(on Ray) and run the SQL audits; results land on the branch",
        _validate,
    )
    validate.add_argument("dataset")
    validate.add_argument("--ref", required=True, help="branch to validate (never main)")
    validate.add_argument("--policy", help="policy name or path (default: configured)")
    validate.add_argument(
        "--full",
        action="store_true",
        help="re-check every asset, not only those added since the last run",
    )
    _json_flag(validate)

    audit = _command(
        commands, "audit", "run the policy's SQL audits on a version (read-only)", _audit_cmd
    )
    audit.add_argument("dataset")
    audit.add_argument("--ref")
    audit.add_argument("--policy")
    _json_flag(audit)

    lineage = _command(
        commands,
        "lineage",
        "what produced each table snapshot of a dataset, "
        "and where its data went (exports, training runs)",
        _lineage,
    )
    lineage.add_argument("dataset")
    _json_flag(lineage)

    datasets = _command(commands, "datasets", "list datasets and their refs", _datasets)
    _json_flag(datasets)

    log = _command(commands, "log", "list a dataset's versions, newest first", _log)
    log.add_argument("dataset")
    log.add_argument("--ref", help="only the ancestry of this branch or tag")
    log.add_argument("--limit", "-n", type=int, default=None)
    _json_flag(log)

    show = _command(
        commands, "show", "show one version (time travel: ref, version, snapshot, time)", _show
    )
    show.add_argument("dataset")
    _version_options(show)
    _json_flag(show)

    branch = _command(commands, "branch", "create, list or delete work branches", None)
    branch_ops = branch.add_subparsers(title="branch commands", metavar="ACTION")
    create = _command(branch_ops, "create", "create a branch from a ref's head", _branch_create)
    create.add_argument("dataset")
    create.add_argument("name")
    create.add_argument(
        "--from", dest="source", default="main", help="branch, tag or version id (default main)"
    )
    create.add_argument("--message", "-m", default="")
    _json_flag(create)
    listing = _command(branch_ops, "list", "list branches", _branch_list)
    listing.add_argument("dataset")
    _json_flag(listing)
    delete = _command(
        branch_ops, "delete", "delete a branch (its versions stay in history)", _branch_delete
    )
    delete.add_argument("dataset")
    delete.add_argument("name")
    _json_flag(delete)

    tag = _command(commands, "tag", "create, list or delete immutable release tags", None)
    tag_ops = tag.add_subparsers(title="tag commands", metavar="ACTION")
    create = _command(
        tag_ops, "create", "tag a version; an existing tag is never moved", _tag_create
    )
    create.add_argument("dataset")
    create.add_argument("name")
    create.add_argument(
        "--ref",
        dest="source",
        default="main",
        help="branch, tag or version id to tag (default main)",
    )
    create.add_argument("--message", "-m", default="")
    _json_flag(create)
    listing = _command(tag_ops, "list", "list tags", _tag_list)
    listing.add_argument("dataset")
    _json_flag(listing)
    delete = _command(tag_ops, "delete", "delete a tag (needs --force; recorded)", _tag_delete)
    delete.add_argument("dataset")
    delete.add_argument("name")
    delete.add_argument("--force", action="store_true", help="really delete an immutable tag")
    _json_flag(delete)

    publish = _command(commands, "publish", "publish a branch onto main through the gate", _publish)
    publish.add_argument("dataset")
    publish.add_argument("branch")
    publish.add_argument("--message", "-m", required=True)
    publish.add_argument("--onto", default="main", help="target branch (default main)")
    publish.add_argument(
        "--override",
        metavar="MESSAGE",
        help="publish despite gate failures; the message is recorded",
    )
    publish.add_argument("--policy", help="gate policy (default: the configured policy)")
    _json_flag(publish)

    diff = _command(commands, "diff", "compare two versions (refs or version ids)", _diff)
    diff.add_argument("dataset")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument("--limit", type=int, default=50, help="asset ids listed (default 50)")
    _json_flag(diff)

    rollback = _command(
        commands, "rollback", "point a branch back at an earlier version", _rollback
    )
    rollback.add_argument("dataset")
    rollback.add_argument("--to", required=True, help="version id or tag")
    rollback.add_argument("--ref", default="main", help="branch to move (default main)")
    rollback.add_argument("--message", "-m")
    _json_flag(rollback)

    maintain = _command(
        commands,
        "maintain",
        "compact small files, expire unneeded snapshots, delete unreferenced files",
        _maintain,
    )
    maintain.add_argument("dataset")
    maintain.add_argument(
        "--keep-versions", type=int, help="newest versions kept readable (refs and tags always are)"
    )
    maintain.add_argument(
        "--grace-seconds", type=int, help="never delete unreferenced files younger than this"
    )
    maintain.add_argument("--no-compact", action="store_true", help="skip compaction")
    _json_flag(maintain)

    export = _command(
        commands, "export", "write a version's original bytes and a manifest", _export
    )
    export.add_argument("dataset")
    export.add_argument("--to", required=True, dest="destination", help="output directory")
    _version_options(export)
    _json_flag(export)

    verify = _command(
        commands, "verify", "recompute every asset's sha256 and the fingerprint", _verify
    )
    verify.add_argument("dataset")
    verify.add_argument("--threads", type=int, default=2, help="hashing threads (default 2)")
    _version_options(verify)
    _json_flag(verify)

    export_hf = _command(
        commands,
        "export-hf",
        "write a version as a Hugging Face dataset (Image feature with the original bytes, labels)",
        _export_hf,
    )
    export_hf.add_argument("dataset")
    export_hf.add_argument("--to", required=True, dest="destination", help="output directory")
    _version_options(export_hf)
    _json_flag(export_hf)
    import_hf = _command(
        commands,
        "import-hf",
        "ingest a saved Hugging Face dataset through the ingest checks and ledger",
        _import_hf,
    )
    import_hf.add_argument("path", help="a directory written by datasets' save_to_disk")
    import_hf.add_argument("--dataset", "-d", required=True)
    import_hf.add_argument("--branch", default="main")
    import_hf.add_argument("--image-column", default="image")
    _json_flag(import_hf)

    quarantine = _command(
        commands, "quarantine", "list, export and remediate quarantined inputs", None
    )
    quarantine_ops = quarantine.add_subparsers(title="quarantine commands", metavar="ACTION")
    listing = _command(
        quarantine_ops, "list", "list quarantined inputs (metadata only)", _quarantine_list
    )
    listing.add_argument("dataset")
    listing.add_argument("--ref", default="main", help="branch or tag (default main)")
    listing.add_argument("--status", choices=("open", "fixed", "replaced", "dropped"))
    listing.add_argument("--category", choices=("corrupt", "policy", "label"))
    listing.add_argument("--reason", help="only items with this reason code, e.g. truncated")
    _json_flag(listing)
    show_item = _command(
        quarantine_ops, "show", "one item: metadata, ledger rows, history", _quarantine_show
    )
    show_item.add_argument("dataset")
    show_item.add_argument("id", help="quarantine id or a unique prefix (6+ characters)")
    show_item.add_argument("--ref", default="main", help="branch or tag (default main)")
    _json_flag(show_item)
    export_items = _command(
        quarantine_ops,
        "export",
        "write items' original bytes under their original names, and a manifest",
        _quarantine_export,
    )
    export_items.add_argument("dataset")
    export_items.add_argument("ids", nargs="*", metavar="ID", help="items (default: the filter)")
    export_items.add_argument("--to", required=True, dest="destination", help="output directory")
    export_items.add_argument("--ref", default="main", help="branch or tag (default main)")
    export_items.add_argument(
        "--status", default="open", choices=("open", "fixed", "replaced", "dropped", "any")
    )
    export_items.add_argument("--category", choices=("corrupt", "policy", "label"))
    export_items.add_argument("--reason", help="only items with this reason code")
    _json_flag(export_items)
    for action, summary, handler in (
        (
            "release",
            "re-admit an item's original bytes on a branch (checked again)",
            _quarantine_release,
        ),
        (
            "replace",
            "ingest a fixed file for an item on a branch (checked again)",
            _quarantine_replace,
        ),
        ("drop", "close an item on a branch without re-admitting it", _quarantine_drop),
    ):
        change = _command(quarantine_ops, action, summary, handler)
        change.add_argument("dataset")
        change.add_argument("id", help="quarantine id or a unique prefix (6+ characters)")
        if action == "replace":
            change.add_argument("file", help="the fixed file")
        change.add_argument("--branch", required=True, help="branch to change (never main)")
        change.add_argument("--reason", required=True, help="why (recorded with the change)")
        if action != "drop":
            change.add_argument("--policy", help="policy the bytes are checked against")
        _json_flag(change)

    demo = _command(commands, "demo", "ingest a messy sample drop made from bundled photos", _demo)
    demo.add_argument("--dataset", default="demo")
    demo.add_argument(
        "--dir", help="where to write the sample drop (default: $LAKEHOUSE_HOME/demo-drop)"
    )
    _json_flag(demo)
    return parser


def _command(
    commands: Any, name: str, summary: str, handler: Handler | None
) -> argparse.ArgumentParser:
    """A subcommand; one without a handler is a group that prints its help."""
    sub = commands.add_parser(name, help=summary, description=summary)
    sub.set_defaults(handler=handler, parser=sub)
    return sub


@contextmanager
def _progress(what: str, args: argparse.Namespace) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal (never in --json output)."""
    from tqdm import tqdm

    bar = tqdm(
        unit="asset",
        desc=what,
        disable=getattr(args, "no_progress", False) or None,
        file=sys.stderr,
    )
    try:
        yield bar
    finally:
        bar.close()


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def _version_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--ref", help="branch or tag (default main)")
    group.add_argument("--version", type=int, dest="version_id", help="version id (see log)")
    group.add_argument("--snapshot", type=int, help="Iceberg snapshot id of any dataset table")
    parser.add_argument(
        "--as-of", help="time (ISO-8601): the version --ref (default main) pointed at then"
    )


def _resolve(lh: Any, args: argparse.Namespace) -> Any:
    from lakehouse.resolve import parse_time

    as_of = parse_time(args.as_of) if args.as_of else None
    if as_of is not None and (args.snapshot or args.version_id):
        raise UsageError("--as-of combines only with --ref")
    return lh.resolve(
        args.dataset,
        ref=args.ref,
        snapshot_id=args.snapshot,
        version_id=args.version_id,
        as_of=as_of,
    )


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
        report = lh.ingest(
            args.roots,
            args.dataset,
            ref=args.branch,
            attrs=attrs,
            message=args.message,
            policy=args.policy,
            on_progress=bar.update,
            on_total=on_total if not bar.disable else None,
            labels=args.labels,
            label_source=args.label_source,
            labels_prefix=args.labels_prefix,
            rehash=args.rehash,
        )
    finally:
        bar.close()
    out.result(report.to_dict(), _ingest_text(report))
    return 0


def _ingest_text(report: Any) -> str:
    lines = [
        f"ingest {report.ingest_id} -> {report.dataset}@{report.ref} "
        f"(version {report.version_id}{', resumed' if report.resumed else ''})",
        f"  files found      {report.files}",
        *(f"  {outcome:16} {n}" for outcome, n in report.counts.items()),
        f"  files read       {report.files_hashed}  (a file unchanged since an earlier ingest "
        "hashed it is not read again)",
    ]
    if report.reasons:
        lines.append(
            "  quarantine reasons: "
            + ", ".join(f"{code} x{n}" for code, n in sorted(report.reasons.items()))
        )
    if report.frames_stored:
        lines.append(f"  video frames stored as assets: {report.frames_stored}")
    if report.labels:
        labels = report.labels
        lines.append(
            f"  labels: {labels['annotations']} annotations, changes {labels['changes']}"
            + (f", problems {labels['reasons']}" if labels["reasons"] else "")
        )
    lines.append(f"  assets snapshot {report.snapshots['assets']}  ({report.seconds:.1f} s)")
    return "\n".join(lines)


def _sql(args: argparse.Namespace, out: Output) -> int:
    from lakehouse.query import run_sql

    lh = _open(args)
    query = args.query
    if query.startswith("@"):
        named = lh.named_query(query[1:])
        if named.params:
            raise UsageError(
                f"{named.name} takes parameters {list(named.params)}; run it "
                "through `lakehouse audit` or the Python API"
            )
        query = named.render()
    frame = run_sql(lh.catalog, _resolve(lh, args), query)
    print(frame_to_text(frame, args.format))
    return 0


def _queries(args: argparse.Namespace, out: Output) -> int:
    from lakehouse.resources import resource_dir
    from lakehouse.sqlfiles import load_sql

    files = sorted(resource_dir("sql").rglob("*.sql")) + sorted(
        (resource_dir("quality") / "checks").glob("*.sql")
    )
    loaded = [load_sql(f) for f in files]
    data = [
        {
            "name": q.name,
            "description": q.description,
            "params": list(q.params),
            "path": str(q.path),
        }
        for q in loaded
    ]
    out.result(data, "\n".join(f"@{q.name:22} {q.description}" for q in loaded))
    return 0


def _validate(args: argparse.Namespace, out: Output) -> int:
    report = _open(args).validate(args.dataset, args.ref, args.policy, incremental=not args.full)
    lines = [
        f"validated {report.assets_checked} assets of {args.dataset}@{args.ref} "
        f"({report.policy}, run {report.run_id}) -> version {report.version_id}: "
        f"{report.assets_failed} failing"
    ]
    lines += [f"  {check:24} {n} assets" for check, n in report.failures.items()]
    lines += [
        f"  audit {name:18} {r['violations']} rows "
        f"({'ok' if r['passed'] else 'FAILS'}, max {r['max_violations']})"
        for name, r in report.audits.items()
    ]
    out.result(report.to_dict(), "\n".join(lines))
    return 0


def _dedup(args: argparse.Namespace, out: Output) -> int:
    result = _open(args).dedup(args.dataset, args.ref, args.policy, incremental=not args.full)
    out.result(
        result,
        f"dedup {args.dataset}@{args.ref}: {result['new_assets']} new of "
        f"{result['assets']} assets; {result['exact_duplicates']} exact, near "
        f"{result['near_duplicates']}, {result['rows']} rows -> version "
        f"{result['version_id']}",
    )
    return 0


def _audit_cmd(args: argparse.Namespace, out: Output) -> int:
    results = _open(args).audit(args.dataset, args.ref, args.policy)
    out.result(
        results,
        "\n".join(
            f"{name:22} {r['violations']:>6} rows  {'ok' if r['passed'] else 'FAILS'} "
            f"(max {r['max_violations']})"
            for name, r in results.items()
        ),
    )
    return 0 if all(r["passed"] for r in results.values()) else 4


def _lineage(args: argparse.Namespace, out: Output) -> int:
    edges = _open(args).lineage(args.dataset)

    def end(row: dict[str, Any], side: str) -> str:
        if row[f"{side}_uri"]:
            return row[f"{side}_uri"]
        return f"{row[f'{side}_dataset']}.{row[f'{side}_table']}@{row[f'{side}_snapshot']}"

    out.result(
        edges,
        "\n".join(
            f"{row['at']:%Y-%m-%d %H:%M:%S} {row['job']:9} {end(row, 'input')} -> "
            f"{end(row, 'output')}"
            for row in edges
        )
        or "(no lineage yet)",
    )
    return 0


def _datasets(args: argparse.Namespace, out: Output) -> int:
    lh = _open(args)
    data = {
        name: [
            {"ref": r.name, "kind": r.kind, "version_id": r.version_id}
            for r in lh.control.refs(name)
        ]
        for name in lh.datasets()
    }
    text = (
        "\n".join(
            f"{name}  " + ", ".join(f"{r['ref']}({r['kind']})={r['version_id']}" for r in refs)
            for name, refs in data.items()
        )
        or "(no datasets yet: lakehouse ingest PATH --dataset NAME)"
    )
    out.result(data, text)
    return 0


def _log(args: argparse.Namespace, out: Output) -> int:
    from lakehouse.api import version_record

    versions = _open(args).log(args.dataset, args.ref, args.limit)
    data = [version_record(v) for v in versions]
    out.result(data, "\n".join(_version_line(v) for v in data))
    return 0


def _version_line(v: dict[str, Any]) -> str:
    fingerprint = (v["fingerprint"] or "")[:12]
    snapshots = " ".join(f"{k}={s}" for k, s in v["snapshots"].items())
    return (
        f"{v['version_id']:>6}  {v['created_at'][:19]}  {v['actor']:10} {v['operation']:9} "
        f"assets={v['asset_count']:<7} fp={fingerprint:12}  {v['message']}\n"
        f"        {snapshots}"
    )


def _show(args: argparse.Namespace, out: Output) -> int:
    lh = _open(args)
    info = lh.show(_resolve(lh, args))
    lines = [_version_line(info), f"  refs here: {', '.join(info['refs']) or '-'}"]
    lines += [
        f"  {name:10} {t['rows']:>9} rows {t['files']:>5} files {t['bytes']:>13} bytes"
        for name, t in info["tables"].items()
    ]
    if info["verdict"]:
        lines.append(f"  gate: {json.dumps(info['verdict'])}")
    out.result(info, "\n".join(lines))
    return 0


def _ref_data(ref: Any) -> dict[str, Any]:
    return {
        "name": ref.name,
        "kind": ref.kind,
        "version_id": ref.version_id,
        "base_version_id": ref.base_version_id,
        "actor": ref.actor,
        "message": ref.message,
        "created_at": ref.created_at.isoformat(),
    }


def _ref_lines(refs: list[Any]) -> str:
    return (
        "\n".join(f"{r.name:24} {r.kind:6} version {r.version_id:<6} {r.message}" for r in refs)
        or "(none)"
    )


def _branch_create(args: argparse.Namespace, out: Output) -> int:
    ref = _open(args).branch_create(args.dataset, args.name, args.source, args.message)
    out.result(_ref_data(ref), f"branch {ref.name} created at version {ref.version_id}")
    return 0


def _branch_list(args: argparse.Namespace, out: Output) -> int:
    refs = [r for r in _open(args).refs(args.dataset) if r.kind == "branch"]
    out.result([_ref_data(r) for r in refs], _ref_lines(refs))
    return 0


def _branch_delete(args: argparse.Namespace, out: Output) -> int:
    _open(args).branch_delete(args.dataset, args.name)
    out.result({"deleted": args.name}, f"branch {args.name} deleted")
    return 0


def _tag_create(args: argparse.Namespace, out: Output) -> int:
    ref = _open(args).tag_create(args.dataset, args.name, args.source, args.message)
    out.result(_ref_data(ref), f"tag {ref.name} -> version {ref.version_id}")
    return 0


def _tag_list(args: argparse.Namespace, out: Output) -> int:
    refs = [r for r in _open(args).refs(args.dataset) if r.kind == "tag"]
    out.result([_ref_data(r) for r in refs], _ref_lines(refs))
    return 0


def _tag_delete(args: argparse.Namespace, out: Output) -> int:
    _open(args).tag_delete(args.dataset, args.name, force=args.force)
    out.result({"deleted": args.name}, f"tag {args.name} deleted (recorded in the audit log)")
    return 0


def _publish(args: argparse.Namespace, out: Output) -> int:
    from lakehouse.api import version_record

    version = _open(args).publish(
        args.dataset,
        args.branch,
        args.message,
        target=args.onto,
        override=args.override,
        policy=args.policy,
    )
    data = version_record(version)
    out.result(
        data,
        f"published {args.branch} onto {args.onto}: version {version.version_id}, "
        f"{data['asset_count']} assets, fingerprint {data['fingerprint'][:12]}",
    )
    return 0


def _diff(args: argparse.Namespace, out: Output) -> int:
    result = _open(args).diff(args.dataset, args.old, args.new)
    data = result.to_dict(limit=args.limit)
    lines = [
        f"{args.old} (version {result.from_version}) -> {args.new} "
        f"(version {result.to_version}): +{len(result.added)} -{len(result.removed)} assets"
    ]
    lines += [f"  {t:14} +{c['added']} -{c['removed']}" for t, c in result.media_types.items()]
    lines += [f"  ledger {k:16} {v:+d}" for k, v in result.ledger.items()]
    lines += [f"  videos {k:16} {v:+d}" for k, v in result.videos.items()]
    lines += [f"  quarantine {k:30} {v:+d}" for k, v in result.quarantine.items()]
    lines += [
        f"  labels {k:16} +{v['added']} -{v['removed']}" for k, v in result.annotations.items()
    ]
    lines += [f"  + {a}" for a in result.added[: args.limit]]
    lines += [f"  - {a}" for a in result.removed[: args.limit]]
    out.result(data, "\n".join(lines))
    return 0


def _rollback(args: argparse.Namespace, out: Output) -> int:
    from lakehouse.api import version_record

    version = _open(args).rollback(args.dataset, args.to, ref=args.ref, message=args.message)
    out.result(
        version_record(version),
        f"{args.ref} now at version {version.version_id} (content of {args.to})",
    )
    return 0


def _maintain(args: argparse.Namespace, out: Output) -> int:
    report = _open(args).maintain(
        args.dataset, args.keep_versions, args.grace_seconds, compact=not args.no_compact
    )
    text = (
        f"compacted {report.compacted or 'nothing'}; expired "
        f"{sum(report.expired_snapshots.values())} snapshots and "
        f"{len(report.expired_versions)} versions; deleted {report.deleted_files} files "
        f"({report.deleted_bytes} bytes); forgot {report.forgotten_digests} digests of "
        f"changed or deleted files in {report.seconds:.1f} s"
    )
    out.result(report.to_dict(), text)
    return 0


def _export(args: argparse.Namespace, out: Output) -> int:
    lh = _open(args)
    version = _resolve(lh, args)
    with _progress("export", args) as bar:
        report = lh.export(
            args.dataset, args.destination, version_id=version.version_id, on_progress=bar.update
        )
    out.result(
        report.to_dict(),
        f"exported {report.files} files ({report.bytes} bytes, "
        f"{report.written} written now) to {report.destination}; manifest "
        f"{report.manifest}",
    )
    return 0


def _verify(args: argparse.Namespace, out: Output) -> int:
    lh = _open(args)
    version = _resolve(lh, args)
    with _progress("verify", args) as bar:
        report = lh.verify(
            args.dataset,
            version_id=version.version_id,
            threads=args.threads,
            on_progress=bar.update,
        )
    data = report.to_dict()
    lines = [
        f"verified {report.assets} assets ({report.bytes} bytes) in {report.files} files: "
        + ("OK" if report.ok else "PROBLEMS FOUND"),
        f"  fingerprint expected {report.fingerprint_expected}",
        f"  fingerprint actual   {report.fingerprint_actual}",
    ]
    lines += [
        f"  {m.problem}: asset {m.asset_id or '-'} in {m.data_file} row {m.row}"
        for m in report.mismatches
    ]
    out.result(data, "\n".join(lines))
    return 0 if report.ok else 5


def _export_hf(args: argparse.Namespace, out: Output) -> int:
    from lakehouse.training import export_hf

    lh = _open(args)
    if args.as_of:  # a time resolves here; refs go through so the record keeps their names
        version_id, ref, snapshot = _resolve(lh, args).version_id, None, None
    else:
        version_id, ref, snapshot = args.version_id, args.ref, args.snapshot
    report = export_hf(
        args.dataset,
        args.destination,
        ref=ref,
        snapshot_id=snapshot,
        version_id=version_id,
        lake=lh,
    )
    out.result(
        report.to_dict(), f"exported {report.rows} rows of {args.dataset} to {args.destination}"
    )
    return 0


def _import_hf(args: argparse.Namespace, out: Output) -> int:
    from lakehouse.training import import_hf

    report = import_hf(
        args.path, args.dataset, lake=_open(args), ref=args.branch, image_column=args.image_column
    )
    data = report.to_dict()
    out.result(data, json.dumps(data, default=str, indent=2))
    return 0


def _quarantine_list(args: argparse.Namespace, out: Output) -> int:
    items = _open(args).quarantine_list(
        args.dataset, args.ref, args.status, args.category, args.reason
    )
    lines = [
        f"{i['quarantine_id'][:12]}  {i['status']:8} {i['category']:7} "
        f"{','.join(i['reasons']):44} {i['file_name']}"
        for i in items
    ]
    out.result(items, "\n".join(lines) or "(no quarantined inputs)")
    return 0


def _quarantine_show(args: argparse.Namespace, out: Output) -> int:
    item = _open(args).quarantine_show(args.dataset, args.id, args.ref)
    lines = [
        f"{item['quarantine_id']}  {item['status']} at {args.ref}  "
        f"({item['category']}: {', '.join(item['reasons'])})",
        f"  detail   {item['detail']}",
        f"  source   {item['source_uri']}  ({item['byte_size']} bytes, {item['sha256']})",
        f"  policy   {item['policy']}   ingest {item['ingest_id']}",
    ]
    lines += [f"  seen     {s['source_uri']} ({s['ingest_id']})" for s in item["sources"]]
    lines += [
        f"  {h['at'][:19]}  {h['action']:7} {h['outcome']:6} on {h['branch']} by "
        f"{h['actor']}: {h.get('reason', '')}"
        + (f" (version {h['version_id']})" if h.get("version_id") else "")
        + (f" [{h['error']}]" if h.get("error") else "")
        for h in item["history"]
    ]
    out.result(item, "\n".join(lines))
    return 0


def _quarantine_export(args: argparse.Namespace, out: Output) -> int:
    report = _open(args).quarantine_export(
        args.dataset,
        args.destination,
        ids=args.ids or None,
        ref=args.ref,
        status=None if args.status == "any" else args.status,
        category=args.category,
        reason=args.reason,
    )
    out.result(
        report.to_dict(),
        f"exported {len(report.items)} items ({report.bytes} bytes, {report.written} written "
        f"now) to {report.destination}; manifest {report.manifest}",
    )
    return 0


def _remediation_text(result: Any) -> str:
    text = (
        f"quarantine item {result.quarantine_id} {result.status} on {result.branch} "
        f"(version {result.version_id})"
    )
    if result.asset_id:
        text += f"; asset {result.asset_id} {result.ledger_outcome} (ingest {result.ingest_id})"
    return text


def _quarantine_release(args: argparse.Namespace, out: Output) -> int:
    result = _open(args).quarantine_release(
        args.dataset, args.id, args.branch, args.reason, policy=args.policy
    )
    out.result(result.to_dict(), _remediation_text(result))
    return 0


def _quarantine_replace(args: argparse.Namespace, out: Output) -> int:
    result = _open(args).quarantine_replace(
        args.dataset, args.id, args.file, args.branch, args.reason, policy=args.policy
    )
    out.result(result.to_dict(), _remediation_text(result))
    return 0


def _quarantine_drop(args: argparse.Namespace, out: Output) -> int:
    result = _open(args).quarantine_drop(args.dataset, args.id, args.branch, args.reason)
    out.result(result.to_dict(), _remediation_text(result))
    return 0


def _demo(args: argparse.Namespace, out: Output) -> int:
    from lakehouse.demo import run_demo

    summary = run_demo(_open(args), args.dataset, args.dir)
    out.result(summary, summary["text"])
    return 0
