"""Arrow tables of `annotations` and label `quarantine` rows from an Alignment (pure).

A label-quarantine row keeps the offending label record(s) as its `content` (canonical JSON,
media type application/json), so `sha256` and `byte_size` describe that record, never an
image: an ingest that skips files whose bytes are in open quarantine can never mistake an image
for a label problem. Its `quarantine_id` depends on the labels source, the subject and that
content, so importing the same faulty file twice names the same entries.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import pyarrow as pa

from lakehouse.labels.align import Alignment, LabelProblem
from lakehouse.labels.model import canonical_json
from lakehouse.schema import ANNOTATIONS_SCHEMA, QUARANTINE_SCHEMA

ANNOTATIONS_ARROW = ANNOTATIONS_SCHEMA.as_arrow()
QUARANTINE_ARROW = QUARANTINE_SCHEMA.as_arrow()
LABEL = "label"  # the quarantine category


def annotation_table(alignment: Alignment, ingest_id: str, at: datetime) -> pa.Table:
    rows = [{**row, "ingest_id": ingest_id, "created_at": at} for row in alignment.rows]
    return pa.Table.from_pylist(rows, schema=ANNOTATIONS_ARROW)


def problem_content(label_source: str, problem: LabelProblem) -> bytes:
    return canonical_json(
        {
            "label_source": label_source,
            "subject": problem.subject,
            "key": problem.key,
            "annotation_id": problem.annotation_id,
            "asset_id": problem.asset_id,
            **problem.record,
        }
    ).encode()


def label_quarantine_id(label_source: str, problem: LabelProblem, content_sha256: str) -> str:
    key = json.dumps([LABEL, label_source, problem.subject, problem.key, content_sha256])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def quarantine_rows(
    alignment: Alignment, ingest_id: str, policy_tag: str, at: datetime
) -> list[dict[str, Any]]:
    """One `quarantine` row (category 'label', status 'open') per problem."""
    rows = []
    for problem in alignment.problems:
        content = problem_content(alignment.label_source, problem)
        sha = hashlib.sha256(content).hexdigest()
        rows.append(
            {
                "quarantine_id": label_quarantine_id(alignment.label_source, problem, sha),
                "content": content,
                "source_uri": problem.source_uri,
                "ingest_id": ingest_id,
                "category": LABEL,
                "reasons": list(problem.reasons),
                "detail": problem.detail,
                "status": "open",
                "media_type": "application/json",
                "byte_size": len(content),
                "policy": policy_tag,
                "created_at": at,
                "sha256": sha,
            }
        )
    return rows


def quarantine_table(
    alignment: Alignment, ingest_id: str, policy_tag: str, at: datetime
) -> pa.Table:
    return pa.Table.from_pylist(
        quarantine_rows(alignment, ingest_id, policy_tag, at), schema=QUARANTINE_ARROW
    )
