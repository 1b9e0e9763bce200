"""Invariants of the registry read from the database: "nothing lost, nothing half-registered" made precise."""

from __future__ import annotations

from sqlalchemy import Engine, text

# Each query lists the rows that break one invariant (empty = holds).
_INVARIANTS = {
    "entry without its document bytes": (
        "SELECT e.unique_id FROM document_entries e LEFT JOIN documents d ON d.unique_id = e.unique_id "
        "WHERE d.id IS NULL"
    ),
    "document bytes whose SHA-1 or size differ from the entry": (
        "SELECT e.unique_id FROM document_entries e JOIN documents d ON d.unique_id = e.unique_id "
        "WHERE e.sha1 IS NOT NULL AND (lower(e.sha1) <> lower(d.sha1) OR e.size <> d.size)"
    ),
    "document bytes without an entry": (
        "SELECT d.unique_id FROM documents d LEFT JOIN document_entries e ON e.unique_id = d.unique_id "
        "WHERE e.id IS NULL"
    ),
    "submission set without members": (
        "SELECT s.unique_id FROM submission_sets s WHERE NOT EXISTS (SELECT 1 FROM associations a "
        "WHERE a.source = s.entry_uuid AND a.association_type LIKE '%HasMember')"
    ),
    "association whose source is unknown": (
        "SELECT a.entry_uuid FROM associations a "
        "WHERE NOT EXISTS (SELECT 1 FROM submission_sets s WHERE s.entry_uuid = a.source) "
        "AND NOT EXISTS (SELECT 1 FROM document_entries e WHERE e.entry_uuid = a.source)"
    ),
    "logical document with several Approved versions": (
        "SELECT lid FROM document_entries WHERE status LIKE '%Approved' GROUP BY lid HAVING count(*) > 1"
    ),
    "uniqueId registered by several logical documents": (
        "SELECT unique_id FROM document_entries GROUP BY unique_id HAVING count(DISTINCT lid) > 1"
    ),
}


def registry_problems(engine: Engine) -> dict[str, list[str]]:
    """Every broken invariant with the offending identifiers (empty when the registry is consistent)."""
    problems: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for name, query in _INVARIANTS.items():
            rows = [str(r[0]) for r in conn.execute(text(query))]
            if rows:
                problems[name] = rows
    return problems


def registry_counts(engine: Engine) -> dict[str, int]:
    """Rows of the tables a submission writes: equal before and after a refused request."""
    with engine.connect() as conn:
        return {
            table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("documents", "document_entries", "submission_sets", "associations")
        }
