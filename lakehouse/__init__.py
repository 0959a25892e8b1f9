"""lakehouse: versioned computer-vision datasets on Apache Iceberg, with Ray for heavy work."""

from __future__ import annotations

__version__ = "0.1.0"

from lakehouse.api import Lakehouse
from lakehouse.config import Settings, load_settings
from lakehouse.errors import LakehouseError

__all__ = ["Lakehouse", "LakehouseError", "Settings", "__version__", "load_settings"]
