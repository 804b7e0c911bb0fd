"""What leaves the storage package: frozen dataclasses, built from rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from storage.tables import ACTIVE_STATUSES, FINAL_STATUSES

T = TypeVar("T")


@dataclass(frozen=True)
class User:
    id: int
    telegram_id: int | None
    name: str
    language: str
    settings: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Job:
    id: str
    user_id: int
    source: str
    options: dict[str, Any]
    status: str
    stage: str
    progress: float
    attempts: int
    max_attempts: int
    error: str | None
    error_detail: str | None
    cancel_requested: bool
    lease_owner: str | None
    lease_expires_at: datetime | None
    run_after: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    result: dict[str, Any] | None
    chat_id: int | None = None
    status_message_id: int | None = None
    clips: int = 0
    lease_host: str | None = None
    lease_pid: int | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class Request:
    """A link or upload waiting for its layout choice."""

    id: str
    user_id: int
    chat_id: int
    message_id: int | None
    source: str
    title: str
    duration: float | None
    options: dict[str, Any]
    job_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class Clip:
    id: int
    job_id: str
    rank: int
    start: float
    end: float
    score: float
    breakdown: dict[str, Any]
    reasons: list[Any]
    text: str
    file: str | None
    thumbnail: str | None
    telegram_file_id: str | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class LearntWeights:
    """Scoring weights learnt from a person's votes (template "": for all their jobs)."""

    user_id: int
    template: str
    weights: dict[str, float]
    votes: int
    updated_at: datetime


@dataclass(frozen=True)
class JobEvent:
    id: int
    job_id: str
    at: datetime
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LeaseHolder:
    """The process that holds a lease. `host` names the machine and, inside it, the pid
    namespace (two containers may share a host name, never a pid namespace); `started` (the
    process's start time, seconds since the epoch) tells a reused pid apart."""

    host: str
    pid: int
    started: float


@dataclass(frozen=True)
class HeartbeatResult:
    """What a worker learns from a heartbeat. `lease_lost`: the job is no longer this
    worker's (another worker reclaimed it, or it was finished/cancelled): stop at once and
    write nothing more. `cancel_requested`: stop at the next checkpoint and call
    `mark_cancelled`."""

    lease_lost: bool
    cancel_requested: bool
    lease_expires_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.lease_lost and not self.cancel_requested


def row_to(cls: type[T], row: Mapping[Any, Any]) -> T:
    """A frozen record from a database row: the columns named like its fields."""
    names: dict[str, Any] = vars(cls)["__dataclass_fields__"]
    return cls(**{name: row[name] for name in names if name in row})
