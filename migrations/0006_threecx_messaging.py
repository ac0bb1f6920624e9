"""3CX two-way chat (issue 16): the gateway as 3CX's Generic SMS provider.

- ``threecxintegration`` gains the messaging settings: the hash of the
  key 3CX sends as a Bearer token (and when it was issued), the id of the
  webhook endpoint that carries 3CX's Webhook URL, the 3CX trunk's number,
  and the inbound and status-event switches.
- ``webhookendpoint`` gains ``kind`` ("customer", or "3cx" for a PBX's
  SMS webhook) and ``allow_private`` (the operator let this one endpoint
  reach a private network, for a PBX on the LAN).
- ``threecxevent`` gets an index on (integration, message_id), so a
  WhatsApp delivery receipt finds the chat reply it belongs to.
"""
from peewee import CharField
from peewee import DateTimeField
from peewee import IntegerField


def add_not_null(m, table, column, kind, default):
    """``ADD COLUMN ... NOT NULL DEFAULT``: both engines take it as is.

    (playhouse's add_column rebuilds a SQLite table to set NOT NULL,
    which the foreign keys pointing at these tables forbid.)
    """
    types = {"bool": {"sqlite": "INTEGER", "postgres": "BOOLEAN"},
             "text": {"sqlite": "VARCHAR(255)", "postgres": "VARCHAR(255)"}}
    if kind == "bool":
        value = ("1" if default else "0") if m.engine == "sqlite" else (
            "true" if default else "false")
    else:
        value = "'%s'" % default
    m.sql('ALTER TABLE "%s" ADD COLUMN "%s" %s NOT NULL DEFAULT %s' % (
        table, column, types[kind][m.engine], value))


def upgrade(m):
    m.add_column("threecxintegration", "messaging_key_hash",
                 CharField(null=True))
    m.add_column("threecxintegration", "messaging_key_rotated_at",
                 DateTimeField(null=True))
    m.add_column("threecxintegration", "messaging_endpoint_id",
                 IntegerField(null=True))
    m.add_column("threecxintegration", "messaging_number",
                 CharField(null=True))
    add_not_null(m, "threecxintegration", "messaging_inbound", "bool", True)
    add_not_null(m, "threecxintegration", "messaging_status_events", "bool",
                 False)
    add_not_null(m, "webhookendpoint", "kind", "text", "customer")
    add_not_null(m, "webhookendpoint", "allow_private", "bool", False)
    m.create_index("threecxevent", ("integration_id", "message_id"))
