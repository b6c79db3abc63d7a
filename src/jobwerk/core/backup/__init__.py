"""Backups of a data folder and its database while the server runs, their check, their restore
into an empty folder, and the ``system.backup`` workflow that makes them on a schedule."""

from jobwerk.core.backup._manifest import (
    ARCHIVE_NAME,
    BackupInvalid,
    BackupRefused,
    Manifest,
    new_archive,
    prune_backups,
)
from jobwerk.core.backup._restore import (
    RestoreResult,
    RestoreTarget,
    TargetNotEmpty,
    restore_backup,
    verify_backup,
)
from jobwerk.core.backup._workflow import BACKUP_JOB, BackupParams, backup_workflow
from jobwerk.core.backup._write import BackupResult, BackupSource, create_backup

__all__ = [
    "ARCHIVE_NAME",
    "BACKUP_JOB",
    "BackupInvalid",
    "BackupParams",
    "BackupRefused",
    "BackupResult",
    "BackupSource",
    "Manifest",
    "RestoreResult",
    "RestoreTarget",
    "TargetNotEmpty",
    "backup_workflow",
    "create_backup",
    "new_archive",
    "prune_backups",
    "restore_backup",
    "verify_backup",
]
