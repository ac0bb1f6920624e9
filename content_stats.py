"""Counts of content-policy refusals, by rule and category.

One function for the CLI (``gateway policy refusals``) and the console:
``count_refusals()``.  A refused send's log row keeps why in
``messagelog.reason`` as ``content:<category>:<rule>`` (``rule`` is a
rule id or ``model``), written by ``refusal_reason()``.
"""
from peewee import fn

from store import MessageLog

PREFIX = "content:"


def refusal_reason(error):
    """The log row's reason for a refusal (None unless a content one)."""
    if getattr(error, "code", None) != "policy_violation":
        return None
    details = error.details or {}
    return "%s%s:%s" % (PREFIX, details.get("category") or "",
                        details.get("rule") or "")


def count_refusals(since=None, until=None, customer_id=None):
    """Content refusals grouped by rule and category, most first.

    Returns a list of ``{"category", "rule", "count"}``; ``since`` and
    ``until`` (datetimes, UTC) bound ``created_at``; ``customer_id``
    narrows to one customer.
    """
    query = (MessageLog
             .select(MessageLog.reason, fn.COUNT(MessageLog.id).alias("n"))
             .where((MessageLog.outcome == "refused")
                    & (MessageLog.error_code == "policy_violation")))
    if since is not None:
        query = query.where(MessageLog.created_at >= since)
    if until is not None:
        query = query.where(MessageLog.created_at < until)
    if customer_id is not None:
        query = query.where(MessageLog.customer == customer_id)
    rows = []
    for row in query.group_by(MessageLog.reason).dicts():
        reason = row["reason"] or ""
        category, _, rule = reason[len(PREFIX):].partition(":") \
            if reason.startswith(PREFIX) else ("unknown", "", "unknown")
        rows.append({"category": category or "unknown",
                     "rule": rule or "unknown", "count": row["n"]})
    rows.sort(key=lambda r: (-r["count"], r["category"], r["rule"]))
    return rows
