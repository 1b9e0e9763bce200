"""Engines and schema migration.

SQLite is the embedded default: WAL so readers never wait for the writer, ``synchronous=NORMAL`` (safe
with WAL: a power cut may lose the last commits, never corrupt the file), a busy timeout so concurrent
writers queue, and ``BEGIN IMMEDIATE`` for write transactions so two writers never deadlock on a lock
upgrade. PostgreSQL is used by URL (``postgresql+psycopg://…``, optional ``postgres`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, inspect, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from conformance.store.names import entry_strings, folder_strings, set_strings
from conformance.store.schema import Base, DocumentEntry, Folder, SchemaVersion, SearchString, SubmissionSet

SCHEMA_VERSION = 4
BACKFILL_BATCH = 1000
BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    options: dict[str, Any] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    engine = create_engine(url, connect_args=options, poolclass=StaticPool if memory else None)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL, not FULL: with WAL a commit is in the WAL file before the response leaves, so a killed process
        # loses nothing (tests/reliability/test_crash.py: SIGKILL under load); only an OS crash or power cut may
        # drop the last commits, never corrupt the file. FULL would fsync every commit for that case alone.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _add_capture_validated_at(session: Session) -> None:
    """v2: captures record when the transport validators ran."""
    columns = {c["name"] for c in inspect(session.connection()).get_columns("captures")}
    if "validated_at" not in columns:
        session.execute(text("ALTER TABLE captures ADD COLUMN validated_at TIMESTAMP WITH TIME ZONE"))


def _add_folders(session: Session) -> None:
    """v3: XDS Folders (the FHIR Folder Lists of ITI-65/ITI-66)."""
    Folder.__table__.create(session.connection(), checkfirst=True)


def _add_search_strings(session: Session) -> None:
    """v4: the names, titles and ids FHIR searches filter on in SQL, read from the stored metadata and ebRIM of
    the entries, SubmissionSets and Folders already registered."""
    connection = session.connection()
    SearchString.__table__.create(connection, checkfirst=True)
    rows = connection.execute(select(DocumentEntry.entry_uuid, DocumentEntry.metadata_json, DocumentEntry.ebrim)
                                 .execution_options(yield_per=BACKFILL_BATCH))
    strings = (s for uuid, metadata, ebrim in rows for s in entry_strings(uuid, metadata or {}, ebrim))
    _insert(session, strings)
    rows = connection.execute(select(SubmissionSet.entry_uuid, SubmissionSet.metadata_json, SubmissionSet.ebrim)
                                 .execution_options(yield_per=BACKFILL_BATCH))
    _insert(session, (s for uuid, metadata, ebrim in rows for s in set_strings(uuid, metadata or {}, ebrim)))
    rows = connection.execute(select(Folder.entry_uuid, Folder.title)
                                 .execution_options(yield_per=BACKFILL_BATCH))
    _insert(session, (s for uuid, title in rows for s in folder_strings(uuid, title)))


def _insert(session: Session, strings: Iterator[SearchString]) -> None:
    """Batched inserts, so a large registry is backfilled without holding every row in memory."""
    batch: list[dict[str, Any]] = []
    for row in strings:
        batch.append({"owner": row.owner, "kind": row.kind, "party": row.party, "value": row.value,
                      "folded": row.folded})
        if len(batch) == BACKFILL_BATCH:
            session.execute(insert(SearchString), batch)
            batch = []
    if batch:
        session.execute(insert(SearchString), batch)


# Upgrade steps from version N-1 to N; version 1 is the initial create_all.
_UPGRADES: dict[int, Callable[[Session], None]] = {2: _add_capture_validated_at, 3: _add_folders,
                                                   4: _add_search_strings}


def current_version(engine: Engine) -> int:
    if not inspect(engine).has_table(SchemaVersion.__tablename__):
        return 0
    with Session(engine) as session:
        version = session.scalar(select(SchemaVersion.version).order_by(SchemaVersion.version.desc()).limit(1))
    return version or 0


def migrate(engine: Engine) -> int:
    """Create or upgrade the schema to :data:`SCHEMA_VERSION`; idempotent. Returns the version reached."""
    version = current_version(engine)
    if version == 0:
        Base.metadata.create_all(engine)  # the current schema: no upgrade step to run
        with Session(engine.execution_options(sqlite_immediate=True)) as session, session.begin():
            # Another process may have created the schema meanwhile: only the first records the version.
            if session.scalar(select(SchemaVersion.version).limit(1)) is None:
                session.add(SchemaVersion(version=SCHEMA_VERSION))
        version = SCHEMA_VERSION
    while version < SCHEMA_VERSION:
        version += 1
        with Session(engine.execution_options(sqlite_immediate=True)) as session, session.begin():
            _UPGRADES[version](session)
            session.add(SchemaVersion(version=version))
    return version
