"""The operator's console at ``/console/``: routes only.

Pages read through ``reports`` and change things through
``console_actions`` (the CLI uses the same two), people and sessions are
``console_auth``'s.  Every lookup goes through the signed-in operator's
scope: a customer's user asking for another customer's row gets 404.
Forms carry Flask-WTF CSRF tokens; responses carry a strict CSP (no
inline script) and no-store.
"""
import datetime
import functools
import logging
import zoneinfo

from flask import Blueprint
from flask import Response
from flask import abort
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter

import console_actions as actions
import console_auth as auth
import reports
import store
import threecx_chat_setup
import threecx_rules
from console_actions import ActionError
from store import ApiKey
from store import Customer
from store import Suppression
from store import db
from store import utcnow

log = logging.getLogger("gateway.console")

bp = Blueprint("console", __name__, url_prefix="/console")
csrf = CSRFProtect()

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
PUBLIC_ENDPOINTS = ("console.login",)
# Tables the console adds (created by migration 0004).
MODELS = auth.MODELS + reports.MODELS


def init_app(app):
    """Wire the console into the gateway app (one call in create_app)."""
    with db.connection_context():
        app.secret_key = auth.secret_key()
    app.session_interface = auth.ConsoleSessionInterface()
    # An id past what the database stores is a 404, not an overflow.
    app.url_map.converters["int"] = RowIdConverter
    app.config.update(
        # API routes authenticate with bearer keys, not cookies, so only
        # the console's forms are checked (in require_operator).
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        PERMANENT_SESSION_LIFETIME=datetime.timedelta(
            hours=auth.SESSION_HOURS),
        SESSION_COOKIE_NAME="gateway_console")
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.jinja_env.filters["when"] = format_time
    app.jinja_env.filters["shown_url"] = threecx_chat_setup.shown_url

    @app.after_request
    def _console_headers(response):
        if request.path.startswith(("/console", "/static/")):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        if request.path.startswith("/console"):
            response.headers["Cache-Control"] = "no-store"
            if auth.request_is_tls():
                response.headers.setdefault(
                    "Strict-Transport-Security", "max-age=31536000")
        return response


# -- plumbing --------------------------------------------------------------

class RowIdConverter(IntegerConverter):
    """``<int:...>`` for row ids: at most ``store.MAX_ID``."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", store.MAX_ID)
        super().__init__(url_map, *args, **kwargs)


@bp.before_request
def require_operator():
    if request.method == "POST":
        csrf.protect()
    g.operator = auth.current_operator()
    if g.operator is None and request.endpoint not in PUBLIC_ENDPOINTS:
        target = request.full_path.rstrip("?")
        return redirect(url_for("console.login", next=target
                                if request.method == "GET" else None))
    g.scope = g.operator.customer_id if g.operator else None


@bp.errorhandler(CSRFError)
def _csrf_failed(error):
    return render_template("console/error.html", title="Form expired",
                           message="The form was too old or not ours; go "
                           "back, reload the page and try again."), 400


@bp.errorhandler(404)
def _not_found(error):
    return render_template("console/error.html", title="Not found",
                           message="There is nothing here, or it is not "
                           "yours to see."), 404


@bp.errorhandler(403)
def _forbidden(error):
    return render_template("console/error.html", title="Not allowed",
                           message="Only an operator of the gateway may do "
                           "this."), 403


def admin_only(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not g.operator.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def format_time(value, fmt="%Y-%m-%d %H:%M:%S"):
    """UTC ISO in ``datetime``, readable text in the operator's zone."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = reports.as_datetime(value)
    if isinstance(value, datetime.date) and not isinstance(
            value, datetime.datetime):
        return value.isoformat()
    utc = value.replace(tzinfo=datetime.timezone.utc)
    zone_name = getattr(g, "operator", None) and g.operator.time_zone
    shown, label, fixed = utc, "UTC", ""
    if zone_name:
        try:
            shown = utc.astimezone(zoneinfo.ZoneInfo(zone_name))
            label, fixed = zone_name, " data-fixed"
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    from markupsafe import Markup
    return Markup('<time datetime="%s"%s>%s %s</time>') % (
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"), Markup(fixed),
        shown.strftime(fmt), label)


def in_scope(query, field):
    return query if g.scope is None else query.where(field == g.scope)


def get_or_404(model, ident, field):
    row = in_scope(model.select().where(model.id == ident), field).first()
    if row is None:
        abort(404)
    return row


def pick_customer():
    """The customer a create form is for: the user's own, or the one the
    operator chose (which must exist)."""
    if g.scope is not None:
        return g.scope
    try:
        customer_id = store.parse_id(request.form.get("customer_id", ""))
    except ValueError:
        customer_id = None
    if customer_id is None or Customer.get_or_none(
            Customer.id == customer_id) is None:
        raise ActionError("Choose a customer.")
    return customer_id


def flash_error(exc):
    g.error = str(exc)


def page(template, **context):
    return render_template("console/" + template, **context)


def shown_once(title, secret, back, note=""):
    """The one page that shows a new secret; never cached, never again."""
    response = Response(page("secret.html", title=title, secret=secret,
                             back=back, note=note))
    response.headers["Cache-Control"] = "no-store"
    return response


# -- sign-in ---------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if g.operator is not None:
            return redirect(url_for("console.overview"))
        return page("login.html")
    email = request.form.get("email", "")
    try:
        operator = auth.authenticate(email, request.form.get("password", ""))
    except auth.TooManyAttempts as exc:
        response = Response(page(
            "login.html", error="Too many failed sign-ins. Try again in "
            "%d seconds." % exc.retry_after, email=email), status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if operator is None:
        return page("login.html", error="Wrong e-mail or password.",
                    email=email), 401
    auth.start_session(operator)
    target = request.args.get("next") or ""
    # Only a path on this console: never an open redirect.
    if not target.startswith("/console/") or target.startswith("//"):
        target = url_for("console.overview")
    return redirect(target)


@bp.post("/logout")
def logout():
    auth.end_session()
    return redirect(url_for("console.login"))


@bp.route("/account", methods=["GET", "POST"])
def account():
    if request.method == "POST":
        zone = request.form.get("time_zone", "").strip()
        try:
            if zone:
                threecx_rules.load_zone(zone)
        except ValueError:
            g.error = "Unknown time zone %r." % zone[:60]
            return page("account.html"), 400
        auth.Operator.update(time_zone=zone).where(
            auth.Operator.id == g.operator.id).execute()
        return redirect(url_for("console.account"))
    return page("account.html")


# -- overview --------------------------------------------------------------

@bp.get("/")
def overview():
    return page("overview.html", data=reports.overview(g.scope),
                today=utcnow().date().isoformat())


# -- customers -------------------------------------------------------------

@bp.get("/customers")
def customers_list():
    return page("customers.html", rows=reports.quotas(g.scope))


@bp.post("/customers")
@admin_only
def customers_create():
    form = request.form
    try:
        row = actions.create_customer(
            form.get("name"), form.get("daily_limit"),
            form.get("monthly_limit"), form.get("plan_active_until"),
            form.getlist("modules") or "api")
    except ActionError as exc:
        flash_error(exc)
        return page("customers.html", rows=reports.quotas(g.scope)), 400
    return redirect(url_for("console.customer_detail", customer_id=row.id))


@bp.route("/customers/<int:customer_id>", methods=["GET", "POST"])
def customer_detail(customer_id):
    row = get_or_404(Customer, customer_id, Customer.id)
    if request.method == "POST":
        if not g.operator.is_admin:
            abort(403)
        form = request.form
        try:
            row = actions.update_customer(
                row.id, name=form.get("name"),
                daily_limit=form.get("daily_limit"),
                monthly_limit=form.get("monthly_limit"),
                plan_active_until=form.get("plan_active_until"),
                modules=form.getlist("modules"))
        except ActionError as exc:
            flash_error(exc)
            return page("customer.html", row=row,
                        quota=reports.quotas(row.id)[0]), 400
        return redirect(url_for("console.customer_detail",
                                customer_id=row.id))
    return page("customer.html", row=row, quota=reports.quotas(row.id)[0])


# -- API keys --------------------------------------------------------------

@bp.get("/keys")
def keys_list():
    return page("keys.html", rows=reports.api_keys(g.scope),
                customers=reports.customers(g.scope))


@bp.post("/keys")
def keys_create():
    try:
        row, key = actions.create_key(pick_customer(),
                                      request.form.get("label"))
    except ActionError as exc:
        flash_error(exc)
        return page("keys.html", rows=reports.api_keys(g.scope),
                    customers=reports.customers(g.scope)), 400
    log.info("console: %s created API key %s", g.operator.id, row.id)
    return shown_once("API key %s created" % row.label, key,
                      url_for("console.keys_list"),
                      "Send it as Authorization: Bearer <key>.")


@bp.post("/keys/<int:key_id>/revoke")
def keys_revoke(key_id):
    row = get_or_404(ApiKey, key_id, ApiKey.customer)
    actions.revoke_key(row.id)
    return redirect(url_for("console.keys_list"))


# -- messages --------------------------------------------------------------

@bp.get("/messages")
def messages_list():
    try:
        flt = reports.parse_filter(request.args, g.scope)
        rows, next_before = reports.list_messages(flt)
    except reports.FilterError as exc:
        flash_error(exc)
        flt, rows, next_before = reports.MessageFilter(
            customer_id=g.scope), [], None
    return page("messages.html", rows=rows, flt=flt, next_before=next_before,
                outcomes=reports.OUTCOMES, purposes=reports.PURPOSES,
                instances=reports.instances(g.scope),
                customers=reports.customers(g.scope)), \
        400 if getattr(g, "error", None) else 200


@bp.get("/messages/<int:log_id>")
def message_detail(log_id):
    data = reports.message_detail(log_id, g.scope)
    if data is None:
        abort(404)
    show_text = reports.may_read_text(data, g.operator.can_read_messages)
    return page("message.html", m=data, show_text=show_text)


# -- suppressions ----------------------------------------------------------

@bp.get("/suppressions")
def suppressions_list():
    before = request.args.get("before", type=store.parse_id)
    rows, next_before = reports.suppressions(g.scope, before)
    return page("suppressions.html", rows=rows, next_before=next_before,
                customers=reports.customers(g.scope))


@bp.post("/suppressions")
def suppressions_add():
    try:
        actions.add_suppression(pick_customer(), request.form.get("phone"))
    except ActionError as exc:
        flash_error(exc)
        rows, next_before = reports.suppressions(g.scope)
        return page("suppressions.html", rows=rows, next_before=next_before,
                    customers=reports.customers(g.scope)), 400
    return redirect(url_for("console.suppressions_list"))


@bp.post("/suppressions/<int:suppression_id>/remove")
def suppressions_remove(suppression_id):
    row = get_or_404(Suppression, suppression_id, Suppression.customer)
    actions.remove_suppression(row.customer_id, row.id)
    return redirect(url_for("console.suppressions_list"))




@bp.route("/<path:rest>", methods=["GET", "POST"])
def unknown(rest):
    """A console URL that does not exist: the console's 404 page."""
    abort(404)


# The pages that drive other systems live in their own module and
# register on ``bp`` when imported.
import console_connections  # noqa: E402,F401
