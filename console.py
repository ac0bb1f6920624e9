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
import importlib
import logging
import zoneinfo

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import CSRFProtect

import console_actions as actions
import console_auth as auth
import content_policy
import reports
import threecx
import threecx_rules
import webhooks
from console_actions import ActionError
from store import ApiKey
from store import Customer
from store import Instance
from store import Suppression
from store import WebhookEndpoint
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

@bp.before_request
def require_operator():
    if request.method == "POST":
        csrf.protect()
    g.operator = auth.current_operator()
    if g.operator is None and request.endpoint not in PUBLIC_ENDPOINTS:
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")
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
    raw = request.form.get("customer_id", "")
    if not raw.isdigit() or Customer.get_or_none(
            Customer.id == int(raw)) is None:
        raise ActionError("Choose a customer.")
    return int(raw)


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


def content_rules():
    return content_policy.load_rules(
        current_app.extensions["gateway"]["settings"].CONTENT_RULES_PATH
        or None)


def numbers_module():
    """The number lifecycle module (``whatsapp_numbers``), when present."""
    try:
        module = importlib.import_module("whatsapp_numbers")
    except ImportError:
        return None
    return module if hasattr(module, "connect_number") else None


def number_error(module):
    return getattr(module, "NumberError", ())


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


# -- numbers ---------------------------------------------------------------

@bp.get("/numbers")
def numbers_list():
    return page("numbers.html", rows=reports.instances(g.scope),
                customers=reports.customers(g.scope),
                can_create=numbers_module() is not None)


@bp.post("/numbers")
def numbers_create():
    module = numbers_module()
    if module is None:
        abort(404)
    try:
        customer_id = pick_customer()
        name = request.form.get("name", "").strip()
        module.create_number(customer_id, name)
    except (ActionError, number_error(module)) as exc:
        flash_error(exc)
    if getattr(g, "error", None):
        return page("numbers.html", rows=reports.instances(g.scope),
                    customers=reports.customers(g.scope),
                    can_create=True), 400
    return redirect(url_for("console.numbers_list"))


@bp.get("/numbers/<int:instance_id>")
def number_detail(instance_id):
    row = get_or_404(Instance, instance_id, Instance.customer)
    return page("number.html", row=row,
                history=reports.pause_history(row.id),
                can_connect=numbers_module() is not None)


@bp.post("/numbers/<int:instance_id>/pause")
def number_pause(instance_id):
    row = get_or_404(Instance, instance_id, Instance.customer)
    try:
        actions.pause_instance(row.id, request.form.get("reason"),
                               g.operator.email)
    except ActionError as exc:
        flash_error(exc)
        return page("number.html", row=row,
                    history=reports.pause_history(row.id),
                    can_connect=numbers_module() is not None), 400
    return redirect(url_for("console.number_detail", instance_id=row.id))


@bp.post("/numbers/<int:instance_id>/resume")
def number_resume(instance_id):
    row = get_or_404(Instance, instance_id, Instance.customer)
    actions.resume_instance(row.id, g.operator.email,
                            request.form.get("reason"))
    return redirect(url_for("console.number_detail", instance_id=row.id))


@bp.post("/numbers/<int:instance_id>/<any(connect, refresh, logout, "
         "restart, delete, 'sync-webhook'):action>")
def number_action(instance_id, action):
    row = get_or_404(Instance, instance_id, Instance.customer)
    module = numbers_module()
    if module is None:
        abort(404)
    try:
        if action == "connect":
            module.connect_number(row.id, request.form.get(
                "pairing_phone") or None)
            return redirect(url_for(
                "console.number_connect", instance_id=row.id,
                pairing_phone=request.form.get("pairing_phone") or None))
        func = {"refresh": "refresh_state", "logout": "logout_number",
                "restart": "restart_number", "delete": "delete_number",
                "sync-webhook": "sync_webhook"}[action]
        getattr(module, func)(row.id)
    except number_error(module) as exc:
        flash_error(exc)
        return page("number.html", row=Instance.get_or_none(
            Instance.id == row.id) or row,
            history=reports.pause_history(row.id), can_connect=True), 502
    if action == "delete":
        return redirect(url_for("console.numbers_list"))
    return redirect(url_for("console.number_detail", instance_id=row.id))


@bp.get("/numbers/<int:instance_id>/connect")
def number_connect(instance_id):
    row = get_or_404(Instance, instance_id, Instance.customer)
    if numbers_module() is None:
        abort(404)
    return page("connect.html", row=row, status=connect_status(row))


@bp.get("/numbers/<int:instance_id>/connect/status")
def number_connect_status(instance_id):
    """The refreshing part of the connect page (a fragment)."""
    row = get_or_404(Instance, instance_id, Instance.customer)
    if numbers_module() is None:
        abort(404)
    return page("connect_status.html", row=row, status=connect_status(row))


def connect_status(row):
    module = numbers_module()
    try:
        module.refresh_state(row.id)
        state = Instance.get_by_id(row.id).connection_state
        if state == "open":
            return {"state": "open"}
        return module.connect_number(
            row.id, request.args.get("pairing_phone") or None)
    except number_error(module) as exc:
        return {"state": "error", "error": str(exc)}


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
    before = request.args.get("before", type=int)
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


# -- webhooks --------------------------------------------------------------

@bp.get("/webhooks")
def webhooks_list():
    return page("webhooks.html", rows=reports.webhook_endpoints(g.scope),
                customers=reports.customers(g.scope),
                events=webhooks.EVENTS,
                backlog=reports.delivery_backlog(g.scope))


@bp.post("/webhooks")
def webhooks_create():
    try:
        endpoint, secret = actions.create_webhook(
            pick_customer(), request.form.get("url", "").strip(),
            request.form.getlist("events"))
    except ActionError as exc:
        flash_error(exc)
        return page("webhooks.html", rows=reports.webhook_endpoints(g.scope),
                    customers=reports.customers(g.scope),
                    events=webhooks.EVENTS,
                    backlog=reports.delivery_backlog(g.scope)), 400
    return shown_once("Webhook endpoint %d created" % endpoint.id, secret,
                      url_for("console.webhooks_list"),
                      "Verify X-WhatsApp-Gateway-Signature with it.")


@bp.post("/webhooks/<int:endpoint_id>/<any(rotate, test, enable, "
         "disable):action>")
def webhook_action(endpoint_id, action):
    endpoint = get_or_404(WebhookEndpoint, endpoint_id,
                          WebhookEndpoint.customer)
    if action == "rotate":
        return shown_once("New secret for endpoint %d" % endpoint.id,
                          actions.rotate_webhook_secret(endpoint.id),
                          url_for("console.webhooks_list"),
                          "The old secret stopped working now.")
    if action == "test":
        delivery = actions.send_test_event(endpoint)
        return redirect(url_for("console.delivery_detail",
                                delivery_id=delivery.id))
    actions.set_webhook_enabled(endpoint.id, action == "enable")
    return redirect(url_for("console.webhooks_list"))


@bp.get("/webhooks/deliveries")
def deliveries_list():
    status = request.args.get("status") or None
    if status not in (None, "pending", "failed", "dead", "delivered"):
        abort(404)
    rows, next_before = reports.deliveries(
        g.scope, status, request.args.get("endpoint_id", type=int),
        request.args.get("before", type=int))
    return page("deliveries.html", rows=rows, status=status,
                next_before=next_before)


@bp.get("/webhooks/deliveries/<int:delivery_id>")
def delivery_detail(delivery_id):
    row = reports.find_delivery(delivery_id, g.scope)
    if row is None:
        abort(404)
    return page("delivery.html", d=row,
                attempts=reports.delivery_attempts(row.id))


@bp.post("/webhooks/deliveries/<int:delivery_id>/replay")
def delivery_replay(delivery_id):
    row = reports.find_delivery(delivery_id, g.scope)
    if row is None:
        abort(404)
    actions.replay([row.id])
    return redirect(url_for("console.delivery_detail", delivery_id=row.id))


@bp.post("/webhooks/deliveries/replay-dead")
def deliveries_replay_dead():
    rows, _ = reports.deliveries(g.scope, "dead", limit=1000)
    actions.replay([r.id for r in rows])
    return redirect(url_for("console.deliveries_list", status="pending"))


# -- 3CX -------------------------------------------------------------------

@bp.get("/3cx")
def threecx_list():
    return page("threecx.html", rows=reports.threecx_integrations(g.scope),
                customers=reports.customers(g.scope),
                instances=reports.instances(g.scope))


@bp.post("/3cx")
def threecx_create():
    form = request.form
    try:
        row, secret = actions.create_threecx(
            pick_customer(), form.get("instance", ""),
            form.get("business_name", ""), form.get("timezone") or "UTC",
            form.get("country"), form.get("business_hours", ""))
    except ActionError as exc:
        flash_error(exc)
        return page("threecx.html",
                    rows=reports.threecx_integrations(g.scope),
                    customers=reports.customers(g.scope),
                    instances=reports.instances(g.scope)), 400
    return shown_once("3CX integration %d created" % row.id, secret,
                      url_for("console.threecx_detail", integration_id=row.id),
                      "3CX sends it as X-WhatsApp-Gateway-3CX-Secret; the "
                      "CRM template on the next page carries the URL.")


@bp.route("/3cx/<int:integration_id>", methods=["GET", "POST"])
def threecx_detail(integration_id):
    row = get_or_404(threecx.ThreeCxIntegration, integration_id,
                     threecx.ThreeCxIntegration.customer)
    status = 200
    if request.method == "POST":
        form = request.form
        templates = {event: (form.get("template_" + event, ""),
                             form.get("enabled_" + event) == "on")
                     for event in threecx_rules.TEMPLATE_EVENTS
                     if ("template_" + event) in form}
        try:
            actions.update_threecx(
                row, content_rules(), form.get("business_name"),
                form.get("business_hours"), form.get("timezone"),
                form.get("enabled") == "on", templates)
            return redirect(url_for("console.threecx_detail",
                                    integration_id=row.id))
        except ActionError as exc:
            flash_error(exc)
            status = 400
    return page("threecx_detail.html", row=row,
                templates=threecx.load_templates(row),
                events=reports.threecx_events(row.id)), status


@bp.post("/3cx/<int:integration_id>/rotate")
def threecx_rotate(integration_id):
    row = get_or_404(threecx.ThreeCxIntegration, integration_id,
                     threecx.ThreeCxIntegration.customer)
    return shown_once("New secret for 3CX integration %d" % row.id,
                      actions.rotate_threecx_secret(row),
                      url_for("console.threecx_detail",
                              integration_id=row.id),
                      "Put it in the 3CX CRM template now: the old one "
                      "stopped working.")


@bp.get("/3cx/<int:integration_id>/crm-template.xml")
def threecx_template(integration_id):
    row = get_or_404(threecx.ThreeCxIntegration, integration_id,
                     threecx.ThreeCxIntegration.customer)
    base = request.host_url.rstrip("/")
    if auth.request_is_tls() and base.startswith("http://"):
        base = "https://" + base[len("http://"):]
    body = threecx_rules.build_crm_template(
        "%s/integrations/3cx/webhook/%d" % (base, row.id),
        name="WhatsApp Gateway %d" % row.id, country=row.country)
    return Response(body, mimetype="application/xml", headers={
        "Content-Disposition": "attachment; filename=whatsapp-gateway-"
                               "3cx-%d.xml" % row.id})


@bp.route("/<path:rest>", methods=["GET", "POST"])
def unknown(rest):
    """A console URL that does not exist: the console's 404 page."""
    abort(404)
