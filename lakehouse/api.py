"""The typed Python API. The CLI is a thin shell over these methods."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path

import polars as pl
from pyiceberg.catalog import Catalog

from lakehouse import tables as iceberg
from lakehouse.config import Settings, load_settings
from lakehouse.control import ControlPlane, Version
from lakehouse.errors import ConfigError
from lakehouse.ingest.inspect_task import inspect_files
from lakehouse.ingest.run import IngestReport, IngestRequest, run_ingest
from lakehouse.policy import Policy, load_policy
from lakehouse.query import plan, run_sql
from lakehouse.raykit import task_submitter
from lakehouse.resolve import resolve_version
from lakehouse.resources import resource_dir


class Lakehouse:
    """A lakehouse installation: one catalog, one warehouse, one control plane."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def open(cls, settings: Settings | None = None, config_file: str | Path | None = None) -> Lakehouse:
        return cls(settings or load_settings(config_file))

    @cached_property
    def catalog(self) -> Catalog:
        self._prepare_home()
        return iceberg.open_catalog(self.settings.catalog)

    @cached_property
    def control(self) -> ControlPlane:
        self._prepare_home()
        return ControlPlane(self.settings.control_uri)

    def init(self) -> dict[str, str]:
        """Create the catalog database, warehouse and control tables (idempotent)."""
        _ = self.catalog, self.control
        return {
            "home": str(self.settings.home),
            "catalog": self.settings.catalog.uri,
            "warehouse": self.settings.catalog.warehouse,
            "control": self.settings.control_uri,
        }

    def policy(self, name_or_path: str | None = None) -> Policy:
        """A policy by name (quality/policies/<name>.toml) or by path."""
        choice = name_or_path or self.settings.ingest.policy
        path = Path(choice)
        if not path.suffix:
            path = resource_dir("quality") / "policies" / f"{choice}.toml"
        if not path.is_file():
            raise ConfigError(f"policy {choice!r} not found (looked at {path})")
        return load_policy(path)

    def ingest(
        self,
        roots: Iterable[str | Path],
        dataset: str,
        ref: str = "main",
        attrs: Mapping[str, str] | None = None,
        message: str | None = None,
        policy: str | None = None,
        on_progress: Callable[[int], None] | None = None,
        on_total: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Ingest files and directory trees; every file found lands in exactly one outcome."""
        chosen = self.policy(policy)
        submit, collect = task_submitter(self.settings.ray, inspect_files, chosen.image)
        request = IngestRequest(
            dataset=dataset, roots=tuple(str(r) for r in roots), ref=ref,
            attrs=dict(attrs or {}), message=message,
        )
        return run_ingest(
            self.catalog, self.control, chosen, request,
            submit=submit, collect=collect,
            commit_bytes=self.settings.ingest.commit_bytes,
            files_per_task=self.settings.ingest.files_per_task,
            on_progress=on_progress, on_total=on_total,
        )

    def resolve(
        self, dataset: str, ref: str | None = None, snapshot_id: int | None = None,
        version_id: int | None = None,
    ) -> Version:
        return resolve_version(self.catalog, self.control, dataset, ref, snapshot_id, version_id)

    def sql(
        self, query: str, dataset: str, ref: str | None = None, snapshot_id: int | None = None
    ) -> pl.DataFrame:
        """Run SQL over the dataset's tables (assets, sources, quarantine) at a version."""
        return run_sql(self.catalog, self.resolve(dataset, ref, snapshot_id), query)

    def sql_plan(
        self, query: str, dataset: str, ref: str | None = None, snapshot_id: int | None = None
    ) -> pl.LazyFrame:
        return plan(self.catalog, self.resolve(dataset, ref, snapshot_id), query)

    def datasets(self) -> list[str]:
        return self.control.datasets()

    def log(self, dataset: str, limit: int | None = None) -> list[Version]:
        self.resolve(dataset)  # raises DatasetNotFound
        return self.control.history(dataset, limit)

    def _prepare_home(self) -> None:
        for uri in (self.settings.catalog.uri, self.settings.control_uri):
            if uri.startswith("sqlite:///"):
                Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        warehouse = self.settings.catalog.warehouse
        if warehouse.startswith("file://"):
            Path(warehouse.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
