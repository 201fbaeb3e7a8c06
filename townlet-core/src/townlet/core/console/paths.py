"""Where the console's ``snapshot`` command may read and write: its snapshot directory only.

A path from the console names a file directly inside the run's snapshot
directory: a bare name (``noon.townlet``) or a path whose directory is that
directory (``snapshots/noon.townlet``). Anything else — another directory,
``..``, a hidden name (the naming of temporary files), a symbolic link, a
directory, a FIFO or a device — is refused before any file is opened, so no
console command can write outside the directory or block on a special file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["PathRefused", "snapshot_target"]


class PathRefused(ValueError):
    """A console path outside the snapshot directory, or not a regular file."""


def snapshot_target(snapshot_dir: Path, given: str, *, must_exist: bool) -> Path:
    """The file ``given`` names inside ``snapshot_dir``; raises :class:`PathRefused`.

    With ``must_exist`` (a load) the file must be there; either way, what is
    there must be a regular file, not a link.
    """
    if "\0" in given:
        raise PathRefused("a snapshot path cannot hold a NUL character")
    where = f"snapshot paths name a file in the snapshot directory {str(snapshot_dir)!r}"
    path = Path(given)
    name = path.name
    if name in ("", ".", "..") or name.startswith(".") or "\\" in name:
        raise PathRefused(f"{given!r} is not a snapshot file name; {where}")
    if path.parent != Path("."):
        try:
            inside = os.path.realpath(path.parent) == os.path.realpath(snapshot_dir)
        except (OSError, ValueError):
            inside = False
        if not inside:
            raise PathRefused(f"{given!r} is outside; {where}")
    target = snapshot_dir / name
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        if must_exist:
            raise PathRefused(f"no snapshot {name!r} in {str(snapshot_dir)!r}") from None
        return target
    except OSError as exc:
        raise PathRefused(f"cannot read {str(target)!r}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
        raise PathRefused(f"{str(target)!r} is {kind}; {where}")
    return target
