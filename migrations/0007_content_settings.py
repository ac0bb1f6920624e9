"""Per-customer content-policy settings (issue 17).

``customer.content_strictness``: "relaxed", "standard" or "strict"; moves
the learned model's refusal threshold (the rules apply at every level).
``customer.content_allow_phrases``: one phrase per line (a business name
or product that trips a rule); removed from a message before it is
checked.  Both sit on the customer row the send path already reads, so
the settings cost no extra query per send.  Nullable (NULL = "standard"
and no phrases): SQLite cannot add a NOT NULL column without rebuilding
the table, which the foreign keys on customer forbid.
"""
from peewee import CharField
from peewee import TextField


def upgrade(m):
    m.add_column("customer", "content_strictness", CharField(null=True))
    m.add_column("customer", "content_allow_phrases", TextField(null=True))
