"""Watermarks for incremental extraction: one small JSON file per partner, ``{dataset: watermark}``.

A connector only *proposes* a new watermark (``Extraction.watermark``); the pipeline commits it with
:meth:`WatermarkStore.set` after the delivery has been loaded, so a failed load is simply extracted again.
Writes are atomic (temp file + ``os.replace``): a crash never leaves a half-written state file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from regiowerk.errors import ConfigurationError


class WatermarkStore:
    def __init__(self, directory: Path | None = None):
        if directory is None:
            from regiowerk.settings import paths

            directory = paths().state
        self.directory = Path(directory)

    def _file(self, partner_id: str) -> Path:
        return self.directory / f"{partner_id}.json"

    def _read(self, partner_id: str) -> dict[str, str]:
        path = self._file(partner_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigurationError(f"watermark file {path} is unreadable ({e}); fix or delete it to "
                                     f"extract everything again") from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"watermark file {path} must hold a JSON object")
        return data

    def get(self, partner_id: str, dataset: str) -> str | None:
        value = self._read(partner_id).get(dataset)
        return None if value is None else str(value)

    def set(self, partner_id: str, dataset: str, value: str | None) -> None:
        """Store (or with ``None`` remove) the watermark of one dataset."""
        data = self._read(partner_id)
        if value is None:
            data.pop(dataset, None)
        else:
            data[dataset] = str(value)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{partner_id}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2, sort_keys=True)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._file(partner_id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
