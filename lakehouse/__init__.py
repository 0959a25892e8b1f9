"""lakehouse: versioned computer-vision datasets on Apache Iceberg, with Ray for heavy work.

Training loaders load on first use (`lakehouse.ray_dataset`, `to_hf_dataset`, ...), so
`import lakehouse` does not import Ray Data, `datasets` or torch.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import Any

from lakehouse.api import Lakehouse
from lakehouse.config import Settings, load_settings
from lakehouse.errors import LakehouseError

_TRAINING = (
    "ray_dataset",
    "torch_dataset",
    "to_hf_dataset",
    "export_hf",
    "from_hf_dataset",
    "import_hf",
    "last_served",
)

__all__ = ["Lakehouse", "LakehouseError", "Settings", "__version__", "load_settings", *_TRAINING]


def __getattr__(name: str) -> Any:
    if name in _TRAINING:
        import lakehouse.training

        return getattr(lakehouse.training, name)
    raise AttributeError(f"module 'lakehouse' has no attribute {name!r}")
