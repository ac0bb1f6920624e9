"""The console's delivery list stays an index walk at any size.

``delivery (status, id)``: ``?status=delivered`` (or ``dead``, ...)
walks one status's rows newest first and stops after a page; before
it, SQLite took the outbox's ``(status, next_attempt_at)`` index, read
every row of the status and sorted them (all of them, for
``delivered``).  A customer's list walks each of its endpoints'
``(endpoint_id)`` index, which SQLite already keeps in id order
(``reports.deliveries``).

Only an index: no row changes.
"""


def upgrade(m):
    m.create_index("delivery", ("status", "id"))
