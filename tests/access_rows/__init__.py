"""More rows of the route × role matrix, one module per feature (so features grow apart).

Each module here defines `ROWS` (same shape as `tests.test_access_matrix.EXPECTED`) and may
define `objects(app, world) -> dict` for the placeholders its patterns name.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{__name__}.{m.name}")
        for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    ]
