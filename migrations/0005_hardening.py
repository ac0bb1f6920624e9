"""Hardening (issue 15): secrets sealed at rest, nothing stored that a
reader of the file could abuse, and what health and retention need.

- Seals (``secretbox``: Fernet under ``GATEWAY_SECRET_KEY`` or the
  ``secret.key`` beside the database) every secret the gateway must use
  and so cannot hash: Evolution instance tokens, instance intake
  secrets, customer webhook signing secrets, 3CX HMAC secrets.  Rows
  already sealed are left alone, so the step is safe to re-run.
- Blanks Evolution's ``apikey`` inside every stored inbound event body.
- Replaces the texts of ``authentication`` messages (one-time codes)
  with a marker; the rows stay.
- Indexes ``messagelog.created_at`` for the message-text retention purge.
- Adds the ``heartbeat`` table ``/readyz`` writes to prove the database
  takes writes.

The sealing format (``gwenc1:`` + Fernet token) is stable; this step
uses ``secretbox``'s functions, never the live models.
"""
import re

from peewee import CharField
from peewee import DateTimeField
from peewee import Model

import secretbox

SEALED_COLUMNS = (("instance", "evolution_token"),
                  ("instance", "webhook_secret"),
                  ("webhookendpoint", "secret"),
                  ("threecxintegration", "hmac_secret"))
REDACTED_TEXT = "[redacted: authentication message]"
_APIKEY = re.compile(r'("apikey"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)


class Heartbeat(Model):
    name = CharField(primary_key=True)
    beat_at = DateTimeField()

    class Meta:
        table_name = "heartbeat"


def upgrade(m):
    m.create_tables(Heartbeat)
    m.create_index("messagelog", ["created_at"])
    p = m.db.param
    for table, column in SEALED_COLUMNS:
        rows = m.sql('SELECT id, "%s" FROM "%s" WHERE "%s" IS NOT NULL '
                     'AND "%s" <> \'\'' % (column, table, column, column)
                     ).fetchall()
        for row_id, value in rows:
            if not secretbox.is_sealed(value):
                m.sql('UPDATE "%s" SET "%s" = %s WHERE id = %s'
                      % (table, column, p, p),
                      (secretbox.seal(value), row_id))
    rows = m.sql("SELECT id, body FROM inboundevent WHERE body LIKE %s"
                 % p, ("%apikey%",)).fetchall()
    for row_id, body in rows:
        redacted = _APIKEY.sub(r'\1"[redacted]"', body)
        if redacted != body:
            m.sql("UPDATE inboundevent SET body = %s WHERE id = %s"
                  % (p, p), (redacted, row_id))
    m.sql("UPDATE messagelog SET message_text = %s WHERE purpose = "
          "'authentication' AND message_text IS NOT NULL" % p,
          (REDACTED_TEXT,))
