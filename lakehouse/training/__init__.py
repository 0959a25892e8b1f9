"""Training data loading: any dataset version into Ray Data, PyTorch and Hugging Face datasets.

- `ray_dataset(...)`: a `ray.data.Dataset` (projection, filters, decoding and resizing in the
  workers, labels joined per asset, reproducible seeded order, bounded memory).
- `torch_dataset(...)`: a `torch.utils.data.IterableDataset` over the same plan, without Ray.
- `to_hf_dataset(...)` / `export_hf(...)`: a Hugging Face `datasets.Dataset` with an `Image()`
  feature holding the original bytes; `from_hf_dataset(...)` / `import_hf(...)`: back into a
  dataset through the ingest checks and ledger.
- `last_served()`: what the last loader planned (version, fingerprint, seed, order digest).

Attributes load on first use, so `import lakehouse` does not import Ray Data, `datasets` or
torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ray_dataset": "lakehouse.training.ray_source",
    "LakehouseDatasource": "lakehouse.training.ray_source",
    "torch_dataset": "lakehouse.training.pytorch",
    "to_hf_dataset": "lakehouse.training.hf_export",
    "export_hf": "lakehouse.training.hf_export",
    "from_hf_dataset": "lakehouse.training.hf_import",
    "import_hf": "lakehouse.training.hf_import",
    "last_served": "lakehouse.training.served",
    "ServedRecord": "lakehouse.training.served",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lakehouse.training' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
