"""The web console's build output. `npm run build` in `web/` writes it to `static/` here (gitignored,
shipped as package data); `pulse/api/console.py` serves it at /app."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
BUILD_HINT = (
    "Build it with `make console` (or `cd web && npm ci && npm run build`); `make up` does it for you."
)
