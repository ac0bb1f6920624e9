"""``instance.state_event_at``: Evolution's time (the envelope's
``date_time``) of the connection event the stored state came from.

Evolution retries each webhook on its own for ~20 minutes, in no order:
a ``connecting`` retried late could overwrite the ``open`` that followed
it until the next refresh (5 minutes).  A connection event now moves the
state only if it is no older than the one that set it.  Nullable: rows
from before know no such time, and any event moves them.
"""
from peewee import DateTimeField


def upgrade(m):
    m.add_column("instance", "state_event_at", DateTimeField(null=True))
