"""Indexes that keep every hot query on an index at any size (issue 13).

- ``messagelog (instance_id, evolution_message_id)``: a receipt finds its
  send's log row in one probe.  Without it SQLite, which plans without
  statistics (the gateway never runs ``ANALYZE``), took the
  ``(instance_id, id)`` index and walked every row of the instance:
  about 130 ms per receipt at a million rows instead of 0.02 ms.
- ``instance (evolution_instance)``: the embedded sandbox's webhooks name
  their instance by its Evolution name.
- ``webhookendpoint (blocked_until)``: the outbox claim skips endpoints
  left alone for a while.
- ``event (created_at)``, ``inboundevent (received_at)``: housekeeping
  deletes what is past retention without scanning either table while
  holding the write lock.

Only indexes: no row changes, and ``CREATE INDEX IF NOT EXISTS`` leaves a
database that already has one (made by an older ``create_tables``) as it
is.  Building them takes a few seconds on a million log rows.
"""

INDEXES = (
    ("messagelog", ("instance_id", "evolution_message_id")),
    ("instance", ("evolution_instance",)),
    ("webhookendpoint", ("blocked_until",)),
    ("event", ("created_at",)),
    ("inboundevent", ("received_at",)),
)


def upgrade(m):
    for table, columns in INDEXES:
        m.create_index(table, columns)
