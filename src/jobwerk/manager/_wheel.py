"""Wheel archives: safety checks before anything is unpacked, and the metadata jobwerk needs."""

from __future__ import annotations

import configparser
import stat
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement

from jobwerk.errors import AppError

MAX_MEMBERS = 10_000
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
GROUP = "jobwerk.modules"


class ArchiveRefused(AppError):
    """An archive that is unsafe or not a jobwerk module."""


@dataclass
class WheelInfo:
    distribution: str
    version: str
    entry_points: dict[str, str]
    requires: list[Requirement] = field(default_factory=list)
    top_level: set[str] = field(default_factory=set)


def _check_member(member: zipfile.ZipInfo) -> None:
    name = member.filename
    path = PurePosixPath(name)
    if "\\" in name or "\x00" in name or name.startswith("/") or ":" in path.parts[0]:
        raise ArchiveRefused(f"archive member {name!r} has an absolute or unsafe path")
    if ".." in path.parts:
        raise ArchiveRefused(f"archive member {name!r} leaves the target folder")
    kind = stat.S_IFMT(member.external_attr >> 16)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ArchiveRefused(f"archive member {name!r} is a link or special file")


def inspect_wheel(path: Path) -> WheelInfo:
    """Check every member of the wheel and read its name, version, entry points and needs.

    Raises:
        ArchiveRefused: not a zip, unsafe members, over the caps, or no ``jobwerk.modules``
            entry point.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ArchiveRefused("the archive is not a wheel (zip)") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ArchiveRefused("the archive has too many members")
        if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
            raise ArchiveRefused("the archive unpacks to more than the size limit")
        for member in members:
            _check_member(member)
        info_dirs = {PurePosixPath(m.filename).parts[0] for m in members}
        dist_info = [d for d in info_dirs if d.endswith(".dist-info")]
        if len(dist_info) != 1:
            raise ArchiveRefused("the archive has no single .dist-info folder")
        folder = dist_info[0]
        names = set(archive.namelist())
        if f"{folder}/METADATA" not in names or f"{folder}/entry_points.txt" not in names:
            raise ArchiveRefused("the wheel lacks METADATA or entry_points.txt")
        metadata = Parser().parsestr(archive.read(f"{folder}/METADATA").decode())
        points = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        points.optionxform = str  # type: ignore[assignment,method-assign]
        points.read_string(archive.read(f"{folder}/entry_points.txt").decode())
    if not points.has_section(GROUP) or not points[GROUP]:
        raise ArchiveRefused(f"the wheel declares no '{GROUP}' entry point")
    try:
        requires = [Requirement(line) for line in metadata.get_all("Requires-Dist") or []]
    except InvalidRequirement as exc:
        raise ArchiveRefused(f"the wheel has an invalid requirement: {exc}") from None
    top = {
        part.removesuffix(".py") for part in info_dirs if not part.endswith((".dist-info", ".data"))
    }
    return WheelInfo(
        distribution=str(metadata["Name"]),
        version=str(metadata["Version"]),
        entry_points={key.strip(): value.strip() for key, value in points[GROUP].items()},
        requires=requires,
        top_level=top,
    )
