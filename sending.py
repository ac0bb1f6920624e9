"""The guarded send path, shared by the send API and the 3CX bridge.

``GuardedSender.send`` runs the guards of ``policy.GUARD_ORDER`` after the
caller has authenticated and validated the body, then calls Evolution and
writes the outcome.  Everything it refuses is logged with its error code
and never counts against a quota.

Writes per successful send: one transaction that reserves the quota and
inserts the ``pending`` log row, the throttle hits, and one transaction
that records the outcome (plus, from the webhooks module, its event).
"""
import datetime
import logging
import time

from limits import RateLimitItemPerDay
from limits import RateLimitItemPerMinute
from limits import RateLimitItemPerSecond
from peewee import OperationalError

import content_stats
import observability
import policy
import ratelimit
import store
from errors import ApiError
from evolution_client import INSTANCE_UNAVAILABLE
from evolution_client import EvolutionError
from store import Instance
from store import MessageLog
from store import QuotaCounter
from store import Suppression
from store import db
from store import utcnow

log = logging.getLogger(__name__)


class SendOutcome:
    """A send that went through every guard."""

    def __init__(self, log_id, message_id, headers, dry_run=False,
                 content=None):
        self.log_id = log_id
        self.message_id = message_id
        self.headers = headers
        self.dry_run = dry_run
        self.content = content  # the content verdict, for dry runs

    def to_dict(self):
        body = {"success": True, "status": "sent",
                "message_id": self.message_id, "log_id": self.log_id}
        if self.dry_run:
            body.update(status="would_send", dry_run=True)
            if self.content is not None:
                body["content_policy"] = self.content
        return body


class Throttles:
    """The per-instance and per-recipient throttles, parsed once."""

    def __init__(self, limiter, settings, retry_after):
        self.limiter = limiter
        self.retry_after = retry_after
        self.items = [
            ("instance_per_second",
             RateLimitItemPerSecond(settings.THROTTLE_INSTANCE_PER_SECOND),
             "instance"),
            ("instance_per_minute",
             RateLimitItemPerMinute(settings.THROTTLE_INSTANCE_PER_MINUTE),
             "instance"),
            ("recipient_per_day",
             RateLimitItemPerDay(settings.THROTTLE_RECIPIENT_PER_DAY),
             "recipient"),
        ]
        gap = settings.THROTTLE_RECIPIENT_GAP_SECONDS
        if gap:
            self.items.append(("recipient_gap",
                               RateLimitItemPerSecond(1, gap), "recipient"))

    def _keys(self, instance_id, customer_id, phone):
        return {"instance": ("i", str(instance_id)),
                "recipient": ("r", str(customer_id), phone)}

    def check(self, instance_id, customer_id, phone, consume=True):
        """Raise ``sending_throttled`` if any throttle is exhausted.

        With ``consume`` each throttle is hit atomically, so concurrent
        workers never let more through than a limit allows; a throttle
        that refuses after others were hit leaves those counted, erring
        on the side of sending less.
        """
        keys = self._keys(instance_id, customer_id, phone)
        if consume:
            # One transaction for every throttle (see ratelimit.hit_all).
            refused = ratelimit.hit_all(self.limiter, [
                (item, keys[scope]) for _, item, scope in self.items])
            if refused is None:
                return
            name, item, scope = self.items[refused]
            raise policy.throttle_error(
                name, self.retry_after(self.limiter, item, *keys[scope]))
        for name, item, scope in self.items:
            if not self.limiter.test(item, *keys[scope]):
                raise policy.throttle_error(
                    name, self.retry_after(self.limiter, item, *keys[scope]))


class GuardedSender:
    """Runs the guards, calls Evolution, records the outcome."""

    def __init__(self, settings, evolution, throttles, content_rules,
                 emit=None):
        self.settings = settings
        self.evolution = evolution
        self.throttles = throttles
        self.content_rules = content_rules
        # emit(log_row, event_name, instance) writes a customer event
        # inside the caller's transaction; the webhooks module plugs in.
        self.emit = emit

    def send(self, customer, instance_ref, phone, text, purpose,
             source="api", module="api", dry_run=False):
        """Guard and send one message; return a ``SendOutcome``.

        Raises ``ApiError`` for every refusal and upstream failure.
        """
        instance = None
        if phone.endswith("@lid"):
            # A contact known by its LID: its phone, once learned, is the
            # identity the guards and the log key on (as the intake does).
            phone = store.phone_for_lid(customer.id, phone) or phone
        try:
            policy.check_purpose(purpose)
            instance = find_instance(customer, instance_ref)
            now = utcnow()
            policy.check_module_and_plan(customer.modules.split(","),
                                         customer.plan_active_until,
                                         module, now.date())
            policy.check_paused(instance.paused, instance.paused_reason)
            policy.check_suppressed(is_suppressed(customer.id, phone))
            verdict = policy.check_content(
                text, self.content_rules,
                (getattr(customer, "content_allow_phrases", "") or "")
                .splitlines(), getattr(customer, "content_strictness", None),
                explain=dry_run)
            if dry_run:
                quotas = self._peek_quotas(customer, now)
                self.throttles.check(instance.id, customer.id, phone,
                                     consume=False)
                return SendOutcome(0, "", policy.ratelimit_headers(
                    quotas, now), dry_run=True, content=verdict.details())
            row, quotas = self._reserve(customer, instance, phone, text,
                                        purpose, source, now)
        except ApiError as error:
            if not dry_run:
                record_refusal(customer, instance, phone, text, purpose,
                               source, error)
            raise
        headers = policy.ratelimit_headers(quotas, now)
        try:
            self.throttles.check(instance.id, customer.id, phone)
        except ApiError as error:
            self._finish_refused(row, customer, now, error)
            error.headers.update(headers)
            raise
        except Exception as exc:
            # The throttle store failed: nothing was sent, so the row
            # must not wait for housekeeping to call it "unknown", and
            # the client hears a retryable 503, never a stored 500 (the
            # code is the contract's: its error codes are a closed set).
            log.warning("send log=%s instance=%s: throttle store failed "
                        "(%s)", row.id, instance.id, type(exc).__name__)
            error = ApiError(503, "internal_error", "The rate-limit store is "
                             "unavailable; nothing was sent. Retry shortly.",
                             {"outcome": "failed"}, {"Retry-After": "5"})
            self._finish_refused(row, customer, now, error)
            raise error from None
        try:
            return self._deliver(row, instance, customer, phone, text, now,
                                 headers)
        except ApiError as error:
            if error.details.get("outcome") == "failed":
                # Certainly not sent: its quota was given back, and the
                # RateLimit field says so.
                error.headers.update(policy.ratelimit_headers(
                    {kind: (limit, max(0, used - 1), resets_at)
                     for kind, (limit, used, resets_at) in quotas.items()},
                    now))
            raise

    def _deliver(self, row, instance, customer, phone, text, now, headers):
        started = time.monotonic()
        try:
            # Digits for a phone; a LID goes as its whole JID (its bare
            # digits would be taken for a phone number, reference 3.4).
            result = self.evolution.send_text(
                instance.evolution_instance, instance.evolution_token,
                phone.lstrip("+"), text)
        except EvolutionError as exc:
            observability.observe_evolution(time.monotonic() - started,
                                            exc.reason)
            observability.count_send(exc.outcome, "gateway_send_failed")
            log.warning("send log=%s instance=%s failed: %s", row.id,
                        instance.id, exc)
            if exc.reason == INSTANCE_UNAVAILABLE:
                note_unavailable(instance, exc)
            self._finish_failed(row, instance, customer, now, exc)
            self.check_breaker(instance)
            raise ApiError(502, "gateway_send_failed",
                           "The message could not be delivered to "
                           "WhatsApp.",
                           {"reason": exc.reason, "outcome": exc.outcome,
                            "log_id": row.id}, headers)
        observability.observe_evolution(time.monotonic() - started, "sent")
        observability.count_send("sent")
        row.outcome = "sent"
        row.evolution_message_id = result.message_id
        if result.remote_jid and result.remote_jid.endswith("@lid") \
                and phone.startswith("+"):
            learn_lid(customer.id, result.remote_jid, phone)
        self._record_sent(row, instance)
        return SendOutcome(row.id, result.message_id, headers)

    def _record_sent(self, row, instance):
        """Write the outcome of a send WhatsApp accepted.

        The message is out, so the client must hear 200 whatever happens
        here: a busy database is retried, and if it stays busy the row is
        left pending for housekeeping to settle as unknown.
        """
        for attempt in range(3):
            try:
                with db.atomic("IMMEDIATE"):
                    db.execute_sql(
                        "UPDATE messagelog SET outcome = 'sent', "
                        "evolution_message_id = ?, completed_at = ? "
                        "WHERE id = ?", (row.evolution_message_id,
                                         str(utcnow()), row.id))
                    if self.emit:
                        self.emit(row, "message.sent", instance)
                log.info("send log=%s instance=%s sent", row.id,
                         instance.id)
                return
            except OperationalError:
                time.sleep(0.05 * (attempt + 1))
        log.error("send log=%s instance=%s sent, but its row could not be "
                  "updated", row.id, instance.id)

    def _reserve(self, customer, instance, phone, text, purpose, source,
                 now):
        """Count the send against the plan and log it as pending, at once.

        One IMMEDIATE transaction, so concurrent workers queue on SQLite's
        write lock: the conditional UPDATE can never overshoot a limit.
        """
        periods = policy.quota_periods(now)
        quotas = {}
        with db.atomic("IMMEDIATE"):
            for kind, limit in (("daily", customer.daily_limit),
                                ("monthly", customer.monthly_limit)):
                if limit is None:
                    continue
                key, resets_at = periods[kind]
                used = take_quota(customer.id, key, limit)
                if used is None:
                    # Raising rolls back whatever the other period took.
                    quotas[kind] = (limit, limit, resets_at)
                    error = policy.quota_error(kind, limit, limit,
                                               resets_at, now)
                    error.headers.update(policy.ratelimit_headers(
                        quotas, now))
                    raise error
                quotas[kind] = (limit, used, resets_at)
            # Hand-written for speed, like store.first.
            cursor = db.execute_sql(
                "INSERT INTO messagelog (customer_id, instance_id, phone, "
                "purpose, source, outcome, message_text, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING id",
                (customer.id, instance.id, phone, purpose, source,
                 store.storable_text(purpose, text), str(now)))
            row_id = cursor.fetchone()[0]
        row = MessageLog(id=row_id, customer=customer.id,
                         instance=instance.id, phone=phone, purpose=purpose,
                         source=source, outcome="pending", created_at=now)
        return row, quotas

    def _peek_quotas(self, customer, now):
        periods = policy.quota_periods(now)
        quotas = {}
        for kind, limit in (("daily", customer.daily_limit),
                            ("monthly", customer.monthly_limit)):
            if limit is None:
                continue
            key, resets_at = periods[kind]
            used = (QuotaCounter.select(QuotaCounter.used)
                    .where((QuotaCounter.customer == customer.id)
                           & (QuotaCounter.period == key)).scalar()) or 0
            quotas[kind] = (limit, used, resets_at)
            if used >= limit:
                error = policy.quota_error(kind, limit, used, resets_at, now)
                error.headers.update(policy.ratelimit_headers(quotas, now))
                raise error
        return quotas

    def _finish_refused(self, row, customer, now, error):
        observability.count_send("refused", error.code)
        with db.atomic():
            release_quota(customer, now)
            MessageLog.update(outcome="refused", error_code=error.code,
                              completed_at=utcnow()).where(
                MessageLog.id == row.id).execute()

    def _finish_failed(self, row, instance, customer, now, exc):
        with db.atomic():
            if exc.outcome == "failed":
                # Certainly not sent: it does not use up the plan.
                release_quota(customer, now)
            MessageLog.update(outcome=exc.outcome,
                              error_code="gateway_send_failed",
                              reason=exc.reason,
                              completed_at=utcnow()).where(
                MessageLog.id == row.id).execute()
            row.outcome = exc.outcome
            row.reason = exc.reason
            if self.emit and exc.outcome == "failed":
                self.emit(row, "message.failed", instance)

    def check_breaker(self, instance):
        """Pause ``instance`` when its recent sends look like abuse."""
        recent = (MessageLog.select(MessageLog.outcome,
                                    MessageLog.created_at)
                  .where((MessageLog.instance == instance.id)
                         & (MessageLog.outcome.in_(
                             ("sent", "failed", "unknown"))))
                  .order_by(MessageLog.id.desc())
                  .limit(self.settings.BREAKER_WINDOW))
        recent = list(recent)
        failures = sum(1 for r in recent if r.outcome == "failed")
        opt_outs = count_opt_outs(instance.id, recent[-1].created_at) \
            if recent else 0
        reason = policy.check_breaker(
            len(recent), failures, opt_outs,
            self.settings.BREAKER_MIN_SENDS,
            self.settings.BREAKER_FAILURE_RATE,
            self.settings.BREAKER_OPT_OUT_RATE,
            min_opt_outs=self.settings.BREAKER_MIN_OPT_OUTS)
        if reason:
            pause_instance(instance.id, reason)


def count_opt_outs(instance_id, since):
    """Recipients who opted out from ``instance_id`` since ``since``."""
    return Suppression.select().where(
        (Suppression.instance == instance_id)
        & (Suppression.reason == "opt_out")
        & (Suppression.created_at >= since)).count()


def find_instance(customer, instance_ref):
    """The customer's instance by id or name; 404 for anyone else's."""
    instance = store.find_instance(instance_ref, customer.id)
    if instance is None:
        raise ApiError(404, "invalid_instance",
                       "No instance with this id or name belongs to this "
                       "account.", {"instance_id": str(instance_ref)})
    return instance


def is_suppressed(customer_id, phone):
    return db.execute_sql(
        "SELECT 1 FROM suppression WHERE customer_id = ? AND phone = ? "
        "LIMIT 1", (customer_id, phone)).fetchone() is not None


def take_quota(customer_id, period, limit):
    """Count one message in ``period``; return the new count, or None.

    A single conditional UPDATE ... RETURNING: there is no read to race
    with, and its cost does not depend on the size of the message log.
    """
    for _ in range(2):
        taken = db.execute_sql(
            "UPDATE quotacounter SET used = used + 1 WHERE customer_id = ? "
            "AND period = ? AND used < ? RETURNING used",
            (customer_id, period, limit)).fetchone()
        if taken:
            return taken[0]
        # Missing row: create it and count again.  Where a concurrent
        # transaction created it first (PostgreSQL lets both get here),
        # the second UPDATE decides.
        (QuotaCounter.insert(customer=customer_id, period=period, used=0)
         .on_conflict_ignore().execute())
    return None


def release_quota(customer, now):
    """Give back what ``take_quota`` took for a send that did not happen."""
    periods = policy.quota_periods(now)
    for kind, limit in (("daily", customer.daily_limit),
                        ("monthly", customer.monthly_limit)):
        if limit is not None:
            (QuotaCounter.update(used=QuotaCounter.used - 1)
             .where((QuotaCounter.customer == customer.id)
                    & (QuotaCounter.period == periods[kind][0])
                    & (QuotaCounter.used > 0))
             .execute())


def loggable(purpose):
    """A refused purpose as any engine stores it: a column's 255
    characters at most, no NUL (PostgreSQL refuses both, SQLite not)."""
    if not isinstance(purpose, str):
        return None
    return purpose[:255].replace("\x00", "\ufffd")


def record_refusal(customer, instance, phone, text, purpose, source, error):
    """Log a send the guards refused, with its error code (and the rule
    that refused it, when the guard names one)."""
    observability.count_send("refused", error.code)
    rule = error.details.get("rule") or error.details.get("reason")
    MessageLog.create(
        customer=customer.id, instance=instance.id if instance else None,
        phone=phone, purpose=loggable(purpose),
        source=source, outcome="refused", error_code=error.code,
        reason=content_stats.refusal_reason(error) or (
            str(rule)[:250] if rule else None),
        message_text=store.storable_text(purpose, text),
        completed_at=utcnow())


def pause_instance(instance_id, reason, by="breaker"):
    """Pause an instance for review, keeping the first reason given.

    Logs a WARNING and emits ``instance.paused`` (an opt-in extension
    event) in the same transaction.
    """
    with db.atomic():
        changed = (Instance.update(paused=True, paused_reason=reason[:250],
                                   paused_at=utcnow())
                   .where((Instance.id == instance_id)
                          & (Instance.paused == False))  # noqa: E712
                   .execute())
        if changed:
            emit_pause_event(instance_id, "instance.paused",
                             {"reason": reason[:250], "paused_by": by})
            store.PauseRecord.create(instance=instance_id, action="pause",
                                     reason=reason[:250], actor=by)
    if changed:
        log.warning("instance=%s paused for review by %s: %s", instance_id,
                    by, reason)
    return bool(changed)


def resume_instance(instance_id, by="operator", note=None):
    """Lift a pause; emits ``instance.resumed`` if it was paused."""
    with db.atomic():
        changed = (Instance.update(paused=False, paused_reason=None,
                                   paused_at=None)
                   .where((Instance.id == instance_id)
                          & (Instance.paused == True))  # noqa: E712
                   .execute())
        if changed:
            emit_pause_event(instance_id, "instance.resumed",
                             {"resumed_by": by})
            store.PauseRecord.create(instance=instance_id, action="resume",
                                     reason=(note or "")[:250] or None,
                                     actor=by)
    if changed:
        log.warning("instance=%s resumed by %s", instance_id, by)
    return bool(changed)


def emit_pause_event(instance_id, name, fields):
    import webhooks  # webhooks imports this module's neighbours
    instance = Instance.get_by_id(instance_id)
    payload = {"instance_id": str(instance.id),
               "instance_name": instance.name,
               "timestamp": webhooks.iso_timestamp(utcnow())}
    payload.update(fields)
    webhooks.emit_event(instance.customer_id, instance, name, payload)


def note_unavailable(instance, exc):
    """A send found the instance down: the stored state must say so.

    404: Evolution does not have it; an Evolution answer such as
    ``Connection Closed``: closed; no answer at all: unknown.
    """
    state = {404: "not_found", None: "unknown"}.get(exc.status, "close")
    try:
        Instance.update(connection_state=state).where(
            (Instance.id == instance.id)
            & (Instance.connection_state != state)).execute()
    except OperationalError:
        pass  # a busy database must not turn a 502 into a 500


def learn_lid(customer_id, lid_jid, phone):
    """Evolution answered a send to ``phone`` with its LID: remember it."""
    import identity
    lid = identity.lid_of(lid_jid)
    if lid:
        try:
            store.remember_lid(customer_id, lid, phone)
        except OperationalError:
            pass


def recover_pending(older_than):
    """Mark sends stuck in ``pending`` (a worker died mid-call) unknown."""
    cutoff = utcnow() - datetime.timedelta(seconds=older_than)
    return (MessageLog.update(outcome="unknown", reason="interrupted",
                              error_code="gateway_send_failed",
                              completed_at=utcnow())
            .where((MessageLog.outcome == "pending")
                   & (MessageLog.created_at < cutoff)).execute())
