"""Evidence files named by import records: a folder or a zip archive, as survey tools
export them, read only within bounds.

Invariants: a path may not leave the folder or archive; a symlink anywhere on the
path, a file with more than one link, a zip member that is a link, encrypted, packed
with an unknown method, repeated, named outside the archive (``../x``, ``/x``), or
larger (or more compressed) than the limits on :class:`AttachmentSource` is refused
before a byte of it is stored; errors name the record, the item and the member
number, never a file name (names may name a worker). Zip members are only ever
looked up by name and read as streams, never extracted to a path.

Survey tools write only a file's name in their CSV and file it in their media zip
under folders of their own (KoboToolbox: ``user/attachments/form/<_uuid>/name``;
ODK Central: ``media/name``). Opened ``by_name``, a source finds a file by the end
of its path: exactly one file must end with the path asked for (``name``, or
``<_uuid>/name`` for a file filed under its submission's folder); none, or two or
more, are refused, never guessed. A name is matched as given, else as a web server
would have saved it (spaces as ``_``, other punctuation dropped).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final, NoReturn

from vault.errors import InvalidInputError
from vault.sources import CsvOptions

__all__ = ["AttachmentSource", "open_media"]


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
    MAX_FILES: Final = 1_000_000
    """Files a folder opened ``by_name`` may hold (its names are indexed)."""

    def __init__(self, path: str | os.PathLike[str], *, by_name: bool = False) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, int] = {}
        self._items: dict[str, int] = {}
        self._by_name = by_name
        self._index: _NameIndex | None = None
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
        if self._by_name:
            relative = self._find(parts, field, where)
            parts = PurePosixPath(relative).parts
        if self._zip is not None:
            return self._open_member(self._zip, relative, field, where)
        return self._open_file(parts, field, where)

    def _find(self, parts: tuple[str, ...], field: str, where: str) -> str:
        """The one file whose path ends with ``parts`` (see the module's docstring)."""
        if self._index is None:
            self._index = _NameIndex(self._names(where))
        found = self._index.find(parts)
        name = self.path.name
        if not found:
            raise InvalidInputError(f"{field}: no such file in {name}", where=where)
        if len(found) > 1:
            raise InvalidInputError(
                f"{field}: {len(found)} files in {name} have that name; "
                "name the file by its path in the archive",
                where=where,
            )
        member = found[0]
        if self._zip is not None and not _inside(member):
            raise InvalidInputError(
                f"{field}: member {self._members[member]} of {name} is named outside the archive",
                where=where,
            )
        return member

    def _names(self, where: str) -> list[str]:
        """Every file's path (zip members as named; a folder's files, links not followed)."""
        if self._zip is not None:
            return [n for n in self._members if not n.endswith("/")]
        names: list[str] = []
        for folder, _dirs, files in os.walk(self._root):
            base = Path(folder).relative_to(self._root)
            names.extend((base / f).as_posix() for f in files)
            if len(names) > self.MAX_FILES:
                raise InvalidInputError(
                    f"{self.path.name} holds more than {self.MAX_FILES} files", where=where
                )
        return names

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


def _inside(member: str) -> bool:
    """Whether a zip member's name stays inside the archive, were it a path."""
    parts = PurePosixPath(member).parts
    return not (
        member.startswith(("/", "\\")) or ".." in parts or "\\" in member or ":" in parts[0]
    )


_UNSAVED: Final = re.compile(r"[^-\w.]")


def _saved_as(name: str) -> str:
    """A file name as web frameworks store uploads (Django's get_valid_filename)."""
    return _UNSAVED.sub("", name.strip().replace(" ", "_"))


class _NameIndex:
    """File paths by their last part, spelled as given and as saved."""

    def __init__(self, names: list[str]) -> None:
        self._exact: dict[str, list[str]] = {}
        self._saved: dict[str, list[str]] = {}
        for member in names:
            last = PurePosixPath(member).name
            self._exact.setdefault(last, []).append(member)
            self._saved.setdefault(_saved_as(last), []).append(member)

    def find(self, parts: tuple[str, ...]) -> list[str]:
        """The paths that end with ``parts``, the name as given, else as saved."""
        for table, key in ((self._exact, parts[-1]), (self._saved, _saved_as(parts[-1]))):
            ending = [m for m in table.get(key, []) if _ends_with(m, parts[:-1])]
            if ending:
                return ending
        return []


def _ends_with(member: str, folders: tuple[str, ...]) -> bool:
    if not folders:
        return True
    parent = PurePosixPath(member).parent.parts
    return parent[-len(folders) :] == folders


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


def open_media(
    stack: contextlib.ExitStack[Any],
    files: str | os.PathLike[str] | None,
    csv_options: CsvOptions | None,
) -> tuple[AttachmentSource | None, CsvOptions | None]:
    """The evidence files of an import, opened on ``stack``: found by name when a
    survey mapping reads the file, by exact path otherwise; and the CSV options,
    told whether files came with it."""
    mapped = csv_options is not None and csv_options.mapping is not None
    source = stack.enter_context(AttachmentSource(files, by_name=mapped)) if files else None
    if csv_options is not None:
        csv_options = dataclasses.replace(csv_options, media=source is not None)
    return source, csv_options
