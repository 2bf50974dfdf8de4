"""One optimizer run per cluster at a time: an SSM parameter created only if absent.

``PutParameter`` with ``Overwrite=False`` is atomic in SSM, so two runs racing for the lock
cannot both win, and the parameter is visible to every runner (CI, a scheduled task, a
laptop) without extra infrastructure. Standard parameters are free.

Taking the lock is idempotent for its holder: the value names the run (a random run id), so
when a ``PutParameter`` was applied but its response lost and the SDK's retry is refused
with ``ParameterAlreadyExists``, the run reads the parameter, finds its own value and holds
the lock. Releasing it tolerates a retried ``DeleteParameter`` finding it already gone.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any, Dict, Optional

from botocore.exceptions import ClientError

from ..core import facts
from ..core.errors import LockHeld
from ..live.aws import AwsContext, error_code
from .journal import iso, utc_now

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter")

log = logging.getLogger(__name__)


def lock_name(cluster: str) -> str:
    return facts.lock_parameter(cluster)


def owner_identity() -> Dict[str, Any]:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return {"host": socket.gethostname(), "pid": os.getpid(), "user": user}


def describe_owner(value: str) -> str:
    try:
        data = json.loads(value)
        return f"{data['user']}@{data['host']} pid {data['pid']} since {data['time']}"
    except (ValueError, KeyError, TypeError):
        return value


@dataclass
class ClusterLock:
    ctx: AwsContext
    cluster: str
    value: Optional[str] = None
    #: Identifies this run's lock value (see the module docstring).
    run_id: str = ""

    @property
    def name(self) -> str:
        return lock_name(self.cluster)

    def acquire(self, force: bool = False) -> None:
        """Take the lock, or raise :class:`LockHeld` naming the owner and time."""
        if force:
            self.force_unlock()
        value = json.dumps(
            {**owner_identity(), "time": iso(utc_now()), "cluster": self.cluster, "run": self.run_id}, sort_keys=True
        )
        try:
            self.ctx.ssm.put_parameter(
                Name=self.name,
                Value=value,
                Type="String",
                Overwrite=False,
                Description="ecs-optimizer run lock; remove with --force-unlock if stale",
            )
        except ClientError as exc:
            if error_code(exc) != "ParameterAlreadyExists":
                raise
            holder = self._current()
            if holder == value:
                self.value = value
                log.info("lock %s acquired (a retried request found it already ours)", self.name)
                return
            raise LockHeld(
                f"cluster {self.cluster} is locked by another optimizer run "
                f"({describe_owner(holder) if holder else 'owner unknown'}); parameter {self.name}; "
                "if that run is gone, re-run with --force-unlock"
            ) from exc
        self.value = value
        log.info("lock %s acquired", self.name)

    def _current(self) -> Optional[str]:
        try:
            return self.ctx.ssm.get_parameter(Name=self.name)["Parameter"]["Value"]
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise

    def release(self) -> None:
        """Delete the lock if it is still ours (a --force-unlock elsewhere may have taken it)."""
        if self.value is None:
            return
        try:
            if self._current() == self.value:
                try:
                    self.ctx.ssm.delete_parameter(Name=self.name)
                except ClientError as exc:
                    if error_code(exc) != "ParameterNotFound":  # a retried delete of our own lock
                        raise
                log.info("lock %s released", self.name)
            else:
                log.warning("lock %s is no longer ours; left in place", self.name)
        finally:
            self.value = None

    def force_unlock(self) -> None:
        holder = self._current()
        if holder is None:
            return
        log.warning("removing lock %s held by %s (--force-unlock)", self.name, describe_owner(holder))
        try:
            self.ctx.ssm.delete_parameter(Name=self.name)
        except ClientError as exc:
            if error_code(exc) != "ParameterNotFound":
                raise

    def __enter__(self) -> "ClusterLock":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
