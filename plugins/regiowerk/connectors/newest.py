"""The newest-file rule of a file drop: which matching file is the delivery (``connector.newest``: by name, by
modification time, or by a date in the name), one rule for a local drop folder (:mod:`.file`) and an SFTP folder
(:mod:`.sftp`); a file delivered after the chosen one rejects the delivery instead of being passed over."""

from __future__ import annotations

import contextlib
import datetime as dt
import re

from regiowerk.connectors.base import DeliveryContext
from regiowerk.registry import FileConnector


def choose_newest(ctx: DeliveryContext, files: dict[str, int], glob: str, connector: FileConnector,
                  where: str) -> str:
    """The delivery among ``files`` (name -> modification time in ns) by ``connector.newest``. Rejects when
    nothing matches, when a name holds no date (``date_in_name``), and when another file was modified after the
    chosen one: then the partner delivered something that the rule would silently pass over."""
    if not files:
        raise ctx.error(f"no file matching {glob!r} in {where}; nothing was delivered")
    if connector.newest == "modified":
        return max(files, key=lambda n: (files[n], n))
    if connector.newest == "date_in_name":
        dated = {}
        for name in files:
            found = name_date(name, connector.name_date_format or "")
            if found is None:
                raise ctx.error(f"the file name {name!r} holds no date in format {connector.name_date_format} "
                                f"(connector.name_date_format); rename the file or remove it from {where}")
            dated[name] = found
        chosen = max(files, key=lambda n: (dated[n], n))
        rule = f"the date in its name ({connector.name_date_format})"
    else:
        chosen = max(files)
        rule = "its name"
    later = sorted(n for n in files if files[n] > files[chosen])
    if later:
        raise ctx.error(f"{later[-1]!r} was delivered after {chosen!r}, which is the newest by {rule}: the newer "
                        f"file would be ignored; remove the file that is not the delivery, or set "
                        f"connector.newest: modified in the partner file")
    return chosen


_NAME_DATE_PARTS = {"%Y": r"(?P<Y>\d{4})", "%m": r"(?P<m>\d{2})", "%d": r"(?P<d>\d{2})"}


def name_date(name: str, fmt: str) -> dt.date | None:
    """The (last) date written as ``fmt`` (%Y, %m, %d and literal text) in a file name, or None."""
    pattern = "".join(_NAME_DATE_PARTS.get(part, re.escape(part)) for part in re.split(r"(%[Ymd])", fmt) if part)
    found = None
    for m in re.finditer(f"(?=({pattern}))", name):
        with contextlib.suppress(ValueError):
            found = dt.date(int(m.group("Y")), int(m.group("m")), int(m.group("d")))
    return found
