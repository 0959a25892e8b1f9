"""One output interface for the CLI: human text or JSON, chosen once per command."""

from __future__ import annotations

import base64
import json
import sys
from typing import Any, TextIO

import polars as pl


def frame_to_text(frame: pl.DataFrame, fmt: str) -> str:
    """Render a query result as 'table', 'json' (a list of row objects) or 'csv'."""
    if fmt == "json":
        return json.dumps(frame_records(frame), default=str, indent=None)
    shown = _summarise_binary(frame)
    if fmt == "csv":
        return shown.write_csv().rstrip("\n")
    with pl.Config(
        tbl_rows=200,
        tbl_cols=50,
        fmt_str_lengths=100,
        tbl_width_chars=200,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        return f"{shown}\n({frame.height} rows)"


def frame_records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts; binary values become base64 strings."""
    binary = [n for n, t in frame.schema.items() if t == pl.Binary]
    records = frame.to_dicts()
    for record in records:
        for name in binary:
            if record[name] is not None:
                record[name] = base64.b64encode(record[name]).decode()
    return records


def _summarise_binary(frame: pl.DataFrame) -> pl.DataFrame:
    binary = [n for n, t in frame.schema.items() if t == pl.Binary]
    if not binary:
        return frame
    return frame.with_columns(
        (pl.lit("<") + pl.col(n).bin.size().cast(pl.String) + pl.lit(" bytes>")).alias(n)
        for n in binary
    )


class Output:
    """Prints results as text or as one JSON document; the CLI builds one per command."""

    def __init__(self, json_mode: bool, stream: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self.stream = stream or sys.stdout

    def result(self, data: Any, text: str) -> None:
        if self.json_mode:
            print(json.dumps(data, default=str, indent=2), file=self.stream)
        else:
            print(text, file=self.stream)
