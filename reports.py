"""Read models: what the console pages and ``gateway messages/usage`` show.

Every function takes ``customer_id`` as a scope: None for an operator of
everything, a customer's id for that customer's users (and then another
customer's row is simply not found).  No query counts the whole message
log: lists are keyset-paginated on the primary key, today's figures count
one day's id range, and finished days are rolled up once into
``UsageCount`` so a month costs ~31 small rows plus today.
"""
import dataclasses
import datetime
import json

from peewee import CharField
from peewee import DateField
from peewee import DateTimeField
from peewee import IntegerField
from peewee import fn

import policy
import store
import threecx
from store import ApiKey
from store import BaseModel
from store import Customer
from store import Delivery
from store import DeliveryAttempt
from store import Event
from store import Instance
from store import MessageLog
from store import MessageReceipt
from store import PauseRecord
from store import QuotaCounter
from store import Suppression
from store import WebhookEndpoint
from store import db
from store import utcnow

PAGE_SIZE = 50
OUTCOMES = ("pending", "sent", "failed", "unknown", "refused")
PURPOSES = policy.ALLOWED_PURPOSES
RECEIPT_NAMES = {0: "pending", 1: "sent", 2: "delivered", 3: "read",
                 4: "played"}
# A day is rolled up once it ended this long ago: by then housekeeping
# has settled every send of it (pending ones become unknown).
SETTLE = datetime.timedelta(minutes=15)
HIDDEN_PURPOSES = ("authentication",)


class UsageDay(BaseModel):
    """A finished day whose counts are in ``UsageCount``."""
    day = DateField(unique=True)
    computed_at = DateTimeField(default=utcnow)


class UsageCount(BaseModel):
    """Sends of one finished day, per customer, outcome and error code."""
    day = DateField()
    customer_id = IntegerField()
    outcome = CharField()
    error_code = CharField(default="")
    count = IntegerField()

    class Meta:
        indexes = ((("day", "customer_id"), False),)


MODELS = [UsageDay, UsageCount]


# -- the message log -------------------------------------------------------

@dataclasses.dataclass
class MessageFilter:
    day: datetime.date | None = None
    since: datetime.datetime | None = None
    outcome: str | None = None
    purpose: str | None = None
    phone: str | None = None
    instance: str | None = None
    customer_id: int | None = None
    before: int | None = None

    def query_args(self, **changes):
        """The filter as URL query arguments (for links)."""
        values = dataclasses.asdict(dataclasses.replace(self, **changes))
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


class FilterError(ValueError):
    """A filter value that cannot be used, said in one line."""


def parse_filter(args, scope=None):
    """A ``MessageFilter`` from query arguments (strings)."""
    f = MessageFilter()
    try:
        if args.get("day"):
            f.day = datetime.date.fromisoformat(args["day"])
        if args.get("since"):
            f.since = parse_time(args["since"])
        if f.day is not None and f.day == datetime.date.max:
            raise ValueError("no day after it")
        if args.get("before"):
            f.before = store.parse_id(args["before"])
        if args.get("customer_id"):
            f.customer_id = store.parse_id(args["customer_id"])
    except (ValueError, OverflowError):
        raise FilterError("bad date, time or id in the filter") from None
    if args.get("outcome"):
        if args["outcome"] not in OUTCOMES:
            raise FilterError("outcome must be one of " + ", ".join(OUTCOMES))
        f.outcome = args["outcome"]
    if args.get("purpose"):
        f.purpose = args["purpose"][:40]
    if args.get("phone"):
        phone = policy.to_e164(args["phone"])
        if phone is None:
            raise FilterError("%r is not an international phone number"
                              % args["phone"][:40])
        f.phone = phone
    if args.get("instance"):
        f.instance = args["instance"][:100]
    if scope is not None:
        f.customer_id = scope
    return f


def parse_time(raw):
    moment = datetime.datetime.fromisoformat(raw.strip().replace("Z",
                                                                 "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


def first_id_at(moment):
    """The first log id written at or after ``moment`` (index seek)."""
    row = db.execute_sql(
        "SELECT id FROM messagelog WHERE created_at >= ? "
        "ORDER BY created_at LIMIT 1", (str(moment),)).fetchone()
    return row[0] if row else None


def _id_range(start, end=None):
    """``(lo, hi)`` ids of the rows created in [start, end)."""
    lo = first_id_at(start)
    if lo is None:
        return None
    hi = first_id_at(end) if end is not None else None
    return lo, hi


def list_messages(f, limit=PAGE_SIZE):
    """One page of the log, newest first; returns ``(rows, next_before)``.

    Keyset pagination on the primary key: every page costs the same,
    however deep, and each filter walks an index (see migration 0004).
    """
    where, params = [], []
    if f.day is not None or f.since is not None:
        start = f.since or datetime.datetime.combine(f.day,
                                                     datetime.time())
        end = (datetime.datetime.combine(f.day + datetime.timedelta(days=1),
                                         datetime.time())
               if f.day is not None else None)
        if f.day is not None and f.since is not None:
            start = max(start, datetime.datetime.combine(f.day,
                                                         datetime.time()))
        ids = _id_range(start, end)
        if ids is None:
            return [], None
        where.append("m.id >= ?")
        params.append(ids[0])
        if ids[1] is not None:
            where.append("m.id < ?")
            params.append(ids[1])
    if f.before is not None:
        where.append("m.id < ?")
        params.append(f.before)
    if f.customer_id is not None:
        # With a phone, its (phone, id) index is the narrow one; SQLite,
        # planning without statistics, would otherwise walk every row of
        # the customer's (271 ms at a million rows for a phone never
        # sent to).  "+" keeps it off the customer index.
        where.append("+m.customer_id = ?" if f.phone else "m.customer_id = ?")
        params.append(f.customer_id)
    if f.outcome:
        where.append("m.outcome = ?")
        params.append(f.outcome)
    if f.purpose:
        where.append("m.purpose = ?")
        params.append(f.purpose)
    if f.phone:
        where.append("m.phone = ?")
        params.append(f.phone)
    if f.instance:
        instance = find_instance(f.instance, f.customer_id)
        if instance is None:
            return [], None
        where.append("m.instance_id = ?")
        params.append(instance.id)
    sql = ("SELECT m.id, m.customer_id, m.instance_id, m.phone, m.purpose, "
           "m.source, m.outcome, m.error_code, m.reason, "
           "m.evolution_message_id, m.created_at, m.completed_at "
           "FROM messagelog m")
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY m.id DESC LIMIT ?"
    params.append(limit + 1)
    cursor = db.execute_sql(sql, params)
    names = [c[0] for c in cursor.description]
    rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    more = len(rows) > limit
    rows = rows[:limit]
    _attach_names(rows)
    for row in rows:
        row["created_at"] = as_datetime(row["created_at"])
        row["completed_at"] = as_datetime(row["completed_at"])
    return rows, (rows[-1]["id"] if more else None)


def as_datetime(value):
    if value is None or isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(str(value))


def _attach_names(rows):
    instance_ids = {r["instance_id"] for r in rows if r["instance_id"]}
    customer_ids = {r["customer_id"] for r in rows}
    instances = {i.id: i.name for i in Instance.select(
        Instance.id, Instance.name).where(Instance.id.in_(
            list(instance_ids)))} if instance_ids else {}
    customers = {c.id: c.name for c in Customer.select(
        Customer.id, Customer.name).where(Customer.id.in_(
            list(customer_ids)))} if customer_ids else {}
    for row in rows:
        row["instance_name"] = instances.get(row["instance_id"])
        row["customer_name"] = customers.get(row["customer_id"])


def find_instance(ref, customer_id=None):
    import store
    return store.find_instance(ref, customer_id)


def message_to_dict(row):
    """A log row for ``--json`` output and the API of the CLI."""
    keys = ("id", "customer_id", "instance_id", "instance_name", "phone",
            "purpose", "source", "outcome", "error_code", "reason",
            "evolution_message_id", "created_at", "completed_at")
    out = {("log_id" if k == "id" else k): row.get(k) for k in keys}
    for k in ("created_at", "completed_at"):
        if out[k] is not None:
            out[k] = out[k].isoformat() + "Z"
    return out


def may_read_text(row, operator_can_read):
    return bool(operator_can_read) and row["purpose"] not in HIDDEN_PURPOSES


def message_detail(log_id, customer_id=None):
    """A log row with its timeline, or None (also for another customer's)."""
    query = MessageLog.select().where(MessageLog.id == log_id)
    if customer_id is not None:
        query = query.where(MessageLog.customer == customer_id)
    row = query.first()
    if row is None:
        return None
    data = {
        "id": row.id, "customer_id": row.customer_id,
        "instance_id": row.instance_id, "phone": row.phone,
        "purpose": row.purpose, "source": row.source,
        "outcome": row.outcome, "error_code": row.error_code,
        "reason": row.reason, "evolution_message_id": row.evolution_message_id,
        "created_at": row.created_at, "completed_at": row.completed_at,
        "message_text": row.message_text,
    }
    _attach_names([data])
    data["timeline"] = build_timeline(row)
    data["events"] = events_for_log(row)
    return data


def build_timeline(row):
    """accepted -> sent/failed/refused -> delivered -> read, with times."""
    steps = [("accepted", row.created_at, "Received by the gateway")]
    if row.outcome == "refused":
        steps.append(("refused", row.completed_at or row.created_at,
                      "Refused by a guard: %s%s" % (
                          row.error_code or "",
                          " (rule %s)" % row.reason if row.reason else "")))
        return steps
    if row.outcome in ("failed", "unknown"):
        steps.append((row.outcome, row.completed_at,
                      "Upstream: %s" % (row.reason or row.error_code or "")))
        return steps
    if row.outcome == "pending":
        steps.append(("pending", None, "Evolution is being called"))
        return steps
    steps.append(("sent", row.completed_at, "WhatsApp accepted the message"))
    if row.evolution_message_id and row.instance_id:
        for receipt in (MessageReceipt.select()
                        .where((MessageReceipt.instance == row.instance_id)
                               & (MessageReceipt.message_id
                                  == row.evolution_message_id))
                        .order_by(MessageReceipt.rank)):
            name = RECEIPT_NAMES.get(receipt.rank)
            if name in ("delivered", "read", "played"):
                steps.append((name, receipt.at, "Receipt from WhatsApp"))
    return steps


def events_for_log(row):
    """Customer webhook events of this send (sent or failed)."""
    if row.outcome not in ("sent", "failed"):
        return []
    name = "message.sent" if row.outcome == "sent" else "message.failed"
    since = row.created_at
    until = (row.completed_at or row.created_at) + datetime.timedelta(
        seconds=5)
    found = []
    # Events of this customer written while the send finished: a handful.
    # The few seconds of created_at are the narrow index: "+ 0" keeps
    # SQLite off the customer's index, which holds all its events.
    for event in (Event.select().where(
            (Event.customer + 0 == row.customer_id) & (Event.name == name)
            & (Event.created_at >= since) & (Event.created_at <= until))
            .order_by(Event.id).limit(50)):
        try:
            if json.loads(event.payload).get("log_id") == row.id:
                found.append(event)
        except ValueError:
            continue
    return [{"uid": e.uid, "name": e.name, "created_at": e.created_at,
             "deliveries": list(e.deliveries)} for e in found]


# -- usage and the overview ------------------------------------------------

def _today():
    return utcnow().date()


def _count_range(start, end, customer_id=None):
    """Counts per (customer, outcome, error_code) of rows in [start, end)."""
    ids = _id_range(start, end)
    if ids is None:
        return []
    sql = ("SELECT +customer_id, outcome, COALESCE(error_code, ''), "
           "COUNT(*) FROM messagelog WHERE id >= ?")
    params = [ids[0]]
    if ids[1] is not None:
        sql += " AND id < ?"
        params.append(ids[1])
    if customer_id is not None:
        sql += " AND customer_id = ?"
        params.append(customer_id)
    # "+customer_id": without it SQLite may walk the whole customer_id
    # index to skip the sort, instead of the day's id range.
    sql += " GROUP BY +customer_id, outcome, COALESCE(error_code, '')"
    return db.execute_sql(sql, params).fetchall()


def roll_up(day):
    """Store the counts of a finished ``day`` once (idempotent)."""
    start = datetime.datetime.combine(day, datetime.time())
    rows = _count_range(start, start + datetime.timedelta(days=1))
    with db.atomic():
        created = list(UsageDay.insert(day=day).on_conflict_ignore()
                       .returning(UsageDay.id).execute())
        if not created:
            return False
        if rows:
            UsageCount.insert_many([
                {"day": day, "customer_id": c, "outcome": o,
                 "error_code": e, "count": n} for c, o, e, n in rows
            ]).execute()
    return True


def ensure_rolled_up(first_day, last_day):
    """Roll up every finished day in [first_day, last_day] not done yet."""
    now = utcnow()
    done = {d.day for d in UsageDay.select(UsageDay.day).where(
        UsageDay.day.between(first_day, last_day))}
    day = first_day
    while day <= last_day:
        end = datetime.datetime.combine(day + datetime.timedelta(days=1),
                                        datetime.time())
        if day not in done and end + SETTLE <= now:
            roll_up(day)
        day += datetime.timedelta(days=1)


def usage_counts(customer_id=None, now=None):
    """Today's and this month's counts: ``{"today": ..., "month": ...}``.

    Each is ``{"outcomes": {outcome: n}, "refusals": {code: n},
    "per_customer": {id: {outcome: n}}}``.
    """
    now = now or utcnow()
    today = now.date()
    month_start = today.replace(day=1)
    start_today = datetime.datetime.combine(today, datetime.time())
    # Days not yet rolled up (yesterday within SETTLE, say) count live.
    ensure_rolled_up(month_start, today - datetime.timedelta(days=1))
    live_from = start_today
    rolled = {d.day for d in UsageDay.select(UsageDay.day).where(
        UsageDay.day.between(month_start, today))}
    day = today - datetime.timedelta(days=1)
    while day >= month_start and day not in rolled:
        live_from = datetime.datetime.combine(day, datetime.time())
        day -= datetime.timedelta(days=1)
    today_rows = _count_range(start_today, None, customer_id)
    month_rows = list(today_rows)
    if live_from < start_today:
        month_rows += _count_range(live_from, start_today, customer_id)
    query = UsageCount.select(UsageCount.customer_id, UsageCount.outcome,
                              UsageCount.error_code,
                              fn.SUM(UsageCount.count)).where(
        (UsageCount.day >= month_start) & (UsageCount.day < today))
    if customer_id is not None:
        query = query.where(UsageCount.customer_id == customer_id)
    query = query.group_by(UsageCount.customer_id, UsageCount.outcome,
                           UsageCount.error_code)
    month_rows += list(query.tuples())
    return {"today": _summarise(today_rows), "month": _summarise(month_rows)}


def _summarise(rows):
    outcomes, refusals, per_customer = {}, {}, {}
    for customer_id, outcome, error_code, count in rows:
        outcomes[outcome] = outcomes.get(outcome, 0) + count
        if outcome == "refused" and error_code:
            refusals[error_code] = refusals.get(error_code, 0) + count
        mine = per_customer.setdefault(customer_id, {})
        mine[outcome] = mine.get(outcome, 0) + count
    outcomes["total"] = sum(v for k, v in outcomes.items())
    return {"outcomes": outcomes,
            "refusals": dict(sorted(refusals.items(),
                                    key=lambda kv: -kv[1])),
            "per_customer": per_customer}


def quotas(customer_id=None, now=None):
    """Each customer's plan and how much of its quotas is used."""
    now = now or utcnow()
    periods = policy.quota_periods(now)
    query = Customer.select().order_by(Customer.id)
    if customer_id is not None:
        query = query.where(Customer.id == customer_id)
    customers = list(query)
    used = {}
    keys = [periods["daily"][0], periods["monthly"][0]]
    for row in QuotaCounter.select().where(
            QuotaCounter.period.in_(keys)
            & QuotaCounter.customer.in_([c.id for c in customers])):
        used[(row.customer_id, row.period)] = row.used
    out = []
    for c in customers:
        out.append({
            "id": c.id, "name": c.name, "modules": c.modules,
            "plan_active_until": c.plan_active_until,
            "plan_expired": bool(c.plan_active_until
                                 and c.plan_active_until < now.date()),
            "daily_limit": c.daily_limit,
            "daily_used": used.get((c.id, periods["daily"][0]), 0),
            "daily_resets_at": periods["daily"][1],
            "monthly_limit": c.monthly_limit,
            "monthly_used": used.get((c.id, periods["monthly"][0]), 0),
            "monthly_resets_at": periods["monthly"][1],
        })
    return out


def delivery_backlog(customer_id=None):
    """Deliveries waiting or retrying, and dead letters."""
    def count(statuses):
        query = Delivery.select(fn.COUNT(Delivery.id)).where(
            Delivery.status.in_(statuses))
        if customer_id is not None:
            query = query.join(WebhookEndpoint).where(
                WebhookEndpoint.customer == customer_id)
        return query.scalar() or 0
    return {"pending": count(("pending", "delivering")),
            "retrying": count(("failed",)), "dead": count(("dead",))}


def instances(customer_id=None):
    query = (Instance.select(Instance, Customer.name.alias("customer_name"))
             .join(Customer).order_by(Instance.id))
    if customer_id is not None:
        query = query.where(Instance.customer == customer_id)
    return list(query.objects())


def overview(customer_id=None):
    return {"usage": usage_counts(customer_id),
            "quotas": quotas(customer_id),
            "backlog": delivery_backlog(customer_id),
            "instances": instances(customer_id)}


def usage_report(customer_id=None):
    """``gateway usage``: counts and quotas per customer, as data."""
    counts = usage_counts(customer_id)
    out = []
    for q in quotas(customer_id):
        out.append({
            "customer_id": q["id"], "name": q["name"],
            "today": counts["today"]["per_customer"].get(q["id"], {}),
            "month": counts["month"]["per_customer"].get(q["id"], {}),
            "daily_limit": q["daily_limit"], "daily_used": q["daily_used"],
            "monthly_limit": q["monthly_limit"],
            "monthly_used": q["monthly_used"],
            "plan_active_until": (q["plan_active_until"].isoformat()
                                  if q["plan_active_until"] else None),
        })
    return out


# -- the other pages' lists ------------------------------------------------

def _scoped(query, model_field, customer_id):
    return query if customer_id is None else query.where(
        model_field == customer_id)


def customers(customer_id=None):
    return _scoped(Customer.select().order_by(Customer.id), Customer.id,
                   customer_id)


def api_keys(customer_id=None):
    return list(_scoped(ApiKey.select(ApiKey, Customer).join(Customer)
                        .order_by(ApiKey.id.desc()), ApiKey.customer,
                        customer_id))


def suppressions(customer_id=None, before=None, limit=PAGE_SIZE):
    query = _scoped(Suppression.select().order_by(Suppression.id.desc()),
                    Suppression.customer, customer_id)
    if before:
        query = query.where(Suppression.id < before)
    rows = list(query.limit(limit + 1))
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def webhook_endpoints(customer_id=None):
    return list(_scoped(WebhookEndpoint.select().order_by(
        WebhookEndpoint.id), WebhookEndpoint.customer, customer_id))


def deliveries(customer_id=None, status=None, endpoint_id=None,
               before=None, limit=PAGE_SIZE):
    """One page of deliveries, newest first: ``(rows, next_before)``.

    Each filter walks an index in id order and stops after a page, at
    any size: a status its ``(status, id)`` index, an endpoint (and each
    endpoint of a customer) its ``(endpoint_id)`` index, which SQLite
    keeps in id order.  A query with an ``IN`` list or a join would read
    every matching row and sort them (a million for ``delivered``), so
    there is one small query per status or endpoint and the pages are
    merged here.
    """
    statuses = ({"pending": ("pending", "delivering")}.get(status, (status,))
                if status else (None,))
    if endpoint_id:
        endpoints = [endpoint_id]
    elif customer_id is not None:
        endpoints = [e.id for e in WebhookEndpoint.select(
            WebhookEndpoint.id).where(WebhookEndpoint.customer == customer_id)]
        if not endpoints:
            return [], None
    else:
        endpoints = None
    streams = []
    for one in statuses:
        if one == "delivered" and endpoints is not None:
            # The bulk of the table: a small customer would walk every
            # other customer's delivered rows in the status index; its
            # endpoints' own rows hold them densely.
            streams.extend((one, [e], True) for e in endpoints)
        elif one is not None:
            # A rarer status: its index is the narrow one, the endpoints
            # (a handful) a filter on the way ("+ 0" keeps SQLite off the
            # endpoint index, which would read and sort them all).
            streams.append((one, endpoints, False))
        elif endpoints is not None:
            streams.extend((None, [e], False) for e in endpoints)
        else:
            streams.append((None, None, False))
    pages = [_delivery_page(one, ends, by_endpoint, customer_id, before,
                            limit + 1)
             for one, ends, by_endpoint in streams]
    rows = sorted((r for page in pages for r in page), key=lambda r: r.id,
                  reverse=True)[:limit + 1]
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def _delivery_page(status, endpoints, by_endpoint, customer_id, before,
                   limit):
    ids = Delivery.select(Delivery.id)
    if by_endpoint:
        # '|| ""' keeps SQLite off the status index: the endpoint's is
        # walked, the status checked on the way.
        ids = ids.where((Delivery.endpoint == endpoints[0])
                        & (Delivery.status.concat("") == status))
    elif status is not None:
        ids = ids.where(Delivery.status == status)
        if endpoints is not None:
            ids = ids.where((Delivery.endpoint + 0).in_(endpoints))
    elif endpoints is not None:
        ids = ids.where(Delivery.endpoint == endpoints[0])
    if before:
        ids = ids.where(Delivery.id < before)
    # The page's ids first (an index walk of its own), then its rows:
    # joined straight away, SQLite would plan the join first.
    ids = [r.id for r in ids.order_by(Delivery.id.desc()).limit(limit)]
    if not ids:
        return []
    query = (Delivery.select(Delivery, Event, WebhookEndpoint)
             .join(Event).switch(Delivery).join(WebhookEndpoint)
             .where(Delivery.id.in_(ids)).order_by(Delivery.id.desc()))
    if customer_id is not None:
        query = query.where(WebhookEndpoint.customer == customer_id)
    return list(query)


def find_delivery(delivery_id, customer_id=None):
    query = (Delivery.select(Delivery, Event, WebhookEndpoint)
             .join(Event).switch(Delivery).join(WebhookEndpoint)
             .where(Delivery.id == delivery_id))
    if customer_id is not None:
        query = query.where(WebhookEndpoint.customer == customer_id)
    return query.first()


def delivery_attempts(delivery_id, limit=100):
    return list(DeliveryAttempt.select().where(
        DeliveryAttempt.delivery == delivery_id).order_by(
        DeliveryAttempt.id.desc()).limit(limit))


def pause_history(instance_id, limit=20):
    return list(PauseRecord.select().where(
        PauseRecord.instance == instance_id).order_by(
        PauseRecord.id.desc()).limit(limit))


def threecx_integrations(customer_id=None):
    model = threecx.ThreeCxIntegration
    return list(_scoped(model.select().order_by(model.id), model.customer,
                        customer_id))


def threecx_events(integration_id, limit=PAGE_SIZE):
    model = threecx.ThreeCxEvent
    return list(model.select().where(model.integration == integration_id)
                .order_by(model.id.desc()).limit(limit))
