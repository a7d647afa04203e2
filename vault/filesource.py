"""Evidence files named by import records: a folder or a zip archive, as survey tools
export them, read only within bounds.

Invariants: a path may not leave the folder or archive; a symlink anywhere on the
path, a file with more than one link, a zip member that is a link, encrypted, packed
with an unknown method, repeated, or larger (or more compressed) than the limits on
:class:`AttachmentSource` is refused before a byte of it is stored; errors name the
record, the item and the member number, never a file name (names may name a worker).
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final, NoReturn

from vault.errors import InvalidInputError

__all__ = ["AttachmentSource"]


class AttachmentSource:
    """Files that import records name by relative path: a folder or a zip archive,
    as survey tools export them. Paths may not leave the folder or archive.

    Only plain files are taken, so that nothing outside the folder or archive can be
    reached through it and an archive cannot make an import expand without bound:

    * In a folder, each part of the path is opened relative to the part before it
      without following a symbolic link (``O_NOFOLLOW``), so a link anywhere on the
      path is refused, even one that points inside; the file must be a regular file
      with a single name, since a hard link's other name may be outside the folder.
    * In a zip archive, no two members may have the same name (also once ``.`` and
      ``//`` are folded), and the sizes they declare may add up to ``MAX_TOTAL``
      (4 GiB) at most: both are checked when the archive is opened. A member that a
      record names must be a regular file (not a link), not encrypted, stored or
      deflated (other methods do not bound what one read expands to), of at most
      ``MAX_MEMBER`` (1 GiB), and, when larger than ``RATIO_FROM`` (1 MiB), at most
      ``MAX_RATIO`` (100) times its compressed size. ``zipfile`` never returns more
      than a member's declared size and checks its CRC, so the declared sizes bound
      the work; a member that turns out corrupt while it is read is refused too.

    A refusal is an :class:`InvalidInputError` (exit 5) naming the record, the item
    of its ``attachments`` list and, in an archive, the member's number (its place in
    ``unzip -l``), never a file's name, which may name a worker. The import it
    belongs to then writes nothing.
    """

    MAX_MEMBER: Final = 2**30
    MAX_TOTAL: Final = 4 * 2**30
    MAX_RATIO: Final = 100
    RATIO_FROM: Final = 2**20

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, int] = {}
        self._items: dict[str, int] = {}
        if self.path.is_dir():
            self._root = self.path.resolve()
        elif zipfile.is_zipfile(self.path):
            try:
                archive = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError):
                raise InvalidInputError(
                    "not a readable zip archive", where=str(self.path)
                ) from None
            try:
                self._members = _zip_members(archive, str(self.path), self.MAX_TOTAL)
            except BaseException:
                archive.close()
                raise
            self._zip = archive
        else:
            raise InvalidInputError("not a folder or a zip archive", where=str(self.path))

    def __enter__(self) -> AttachmentSource:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def open(self, relative: str, where: str, item: int | None = None) -> IO[bytes]:
        """The file ``relative`` names, for item ``item`` (counted from 1) of the
        ``attachments`` of the record at ``where``; by default the items of a record
        are counted in the order they are opened."""
        if item is None:
            item = self._items[where] = self._items.get(where, 0) + 1
        field = f"field 'attachments' item {item}"
        parts = PurePosixPath(relative).parts
        if not relative or relative.startswith(("/", "\\")) or ".." in parts or "\\" in relative:
            raise InvalidInputError(
                f"{field} must be a relative path inside {self.path.name}", where=where
            )
        if self._zip is not None:
            return self._open_member(self._zip, relative, field, where)
        return self._open_file(parts, field, where)

    def _open_member(
        self, archive: zipfile.ZipFile, relative: str, field: str, where: str
    ) -> IO[bytes]:
        try:
            info = archive.getinfo(relative)
        except KeyError:
            raise InvalidInputError(
                f"{field}: no such file in {self.path.name}", where=where
            ) from None
        member = f"{field}: member {self._members[relative]} of {self.path.name}"
        refusal = self._refusal(info)
        if refusal is not None:
            raise InvalidInputError(f"{member} {refusal}", where=where)
        try:
            handle = archive.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError):
            raise InvalidInputError(f"{member} cannot be read", where=where) from None
        return io.BufferedReader(_CheckedMember(handle, f"{member} is corrupt", where))

    def _refusal(self, info: zipfile.ZipInfo) -> str | None:
        """Why a zip member may not be read, or None."""
        kind = stat.S_IFMT(info.external_attr >> 16)
        if info.is_dir():
            return "is a folder"
        if kind == stat.S_IFLNK:
            return "is a symbolic link"
        if kind not in (0, stat.S_IFREG):
            return "is not a regular file"
        if info.flag_bits & _ZIP_ENCRYPTED:
            return "is encrypted"
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return "is compressed with a method other than stored or deflate"
        if info.file_size > self.MAX_MEMBER:
            return f"is larger than {_size(self.MAX_MEMBER)}"
        if info.file_size > self.RATIO_FROM and info.file_size > self.MAX_RATIO * max(
            info.compress_size, 1
        ):
            return f"expands more than {self.MAX_RATIO}-fold"
        return None

    def _open_file(self, parts: tuple[str, ...], field: str, where: str) -> IO[bytes]:
        def refuse(reason: str) -> NoReturn:
            raise InvalidInputError(f"{field}: {reason}", where=where)

        name = self.path.name
        if not parts:
            refuse(f"no such file in {name}")
        if os.open not in os.supports_dir_fd:
            return _open_by_path(self._root, parts, name, refuse)
        fd = os.open(self._root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        try:
            for n, part in enumerate(parts, start=1):
                last = n == len(parts)
                flags = os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC
                flags |= _O_NONBLOCK if last else _O_DIRECTORY
                try:
                    child = os.open(part, flags, dir_fd=fd)
                except OSError:
                    if _is_link(part, fd):
                        refuse(f"its path goes through a symbolic link in {name}")
                    refuse(f"no such file in {name}")
                os.close(fd)
                fd = child
            found = os.fstat(fd)
            if not stat.S_ISREG(found.st_mode):
                refuse(f"no such file in {name}")
            if found.st_nlink > 1:
                refuse(f"names a hard link in {name} (its other name may be outside)")
            stream = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        return stream


_ZIP_ENCRYPTED: Final = 0x1
_O_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY: Final = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)


def _size(limit: int) -> str:
    return f"{limit // 2**30} GiB" if limit >= 2**30 else f"{limit // 2**20} MiB"


def _is_link(part: str, folder_fd: int) -> bool:
    """Whether ``part`` in the open folder is a symbolic link (for the message only:
    ``O_NOFOLLOW`` is what refuses it)."""
    try:
        return stat.S_ISLNK(os.lstat(part, dir_fd=folder_fd).st_mode)
    except OSError:
        return False


def _open_by_path(
    root: Path, parts: tuple[str, ...], name: str, refuse: Callable[[str], NoReturn]
) -> IO[bytes]:
    """:meth:`AttachmentSource._open_file` where ``open`` takes no folder descriptor
    (Windows): each part is checked not to be a link, and the file opened is the
    file checked."""
    path = root
    for part in parts:
        path = path / part
        try:
            found = path.lstat()
        except OSError:
            refuse(f"no such file in {name}")
        if stat.S_ISLNK(found.st_mode):
            refuse(f"its path goes through a symbolic link in {name}")
    if not stat.S_ISREG(found.st_mode):
        refuse(f"no such file in {name}")
    stream = path.open("rb")
    opened = os.fstat(stream.fileno())
    if (opened.st_dev, opened.st_ino) != (found.st_dev, found.st_ino):
        stream.close()
        refuse(f"the file changed while it was opened in {name}")
    if opened.st_nlink > 1:
        stream.close()
        refuse(f"names a hard link in {name} (its other name may be outside)")
    return stream


def _zip_members(archive: zipfile.ZipFile, where: str, max_total: int) -> dict[str, int]:
    """Each member's number (from 1), once no two share a name and their sizes fit."""
    numbers: dict[str, int] = {}
    folded: dict[str, int] = {}
    total = 0
    for n, info in enumerate(archive.infolist(), start=1):
        key = str(PurePosixPath(info.filename))
        if key in folded:
            raise InvalidInputError(
                f"members {folded[key]} and {n} have the same name", where=where
            )
        folded[key] = n
        numbers[info.filename] = n
        total += info.file_size
        if total > max_total:
            raise InvalidInputError(
                f"the members hold more than {_size(max_total)} in all", where=where
            )
    return numbers


class _CheckedMember(io.RawIOBase):
    """A zip member whose read errors (a bad CRC, a truncated or corrupt stream) are
    refusals naming the member, never a traceback."""

    def __init__(self, handle: IO[bytes], refusal: str, where: str) -> None:
        super().__init__()
        self._handle = handle
        self._refusal = refusal
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._handle.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
            raise InvalidInputError(self._refusal, where=self._where) from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._handle.close()
        super().close()
