"""Console pages that drive other systems: numbers (Evolution, through
``whatsapp_numbers``), customer webhooks and 3CX.  Routes only, on the
console's blueprint; the same scoping and helpers as ``console.py``.
"""
import importlib

from flask import Response
from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import request
from flask import url_for

import console_actions as actions
import console_auth as auth
import content_policy
import reports
import store
import threecx
import threecx_chat_setup
import threecx_rules
import webhooks
from console import bp
from console import flash_error
from console import get_or_404
from console import page
from console import pick_customer
from console import shown_once
from console_actions import ActionError
from store import Instance
from store import WebhookEndpoint


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
        # The operator's mistake (400), a name taken (409), or Evolution
        # failing (502): NumberError says which.
        return page("numbers.html", rows=reports.instances(g.scope),
                    customers=reports.customers(g.scope),
                    can_create=True), getattr(exc, "status", 400)
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
            history=reports.pause_history(row.id), can_connect=True), \
            getattr(exc, "status", 502)
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
    if endpoint.kind != "customer" and action in ("rotate", "test"):
        # A customer's test event would reach 3CX as a chat it cannot
        # read, and 3CX ignores the signing secret: gateway 3cx messaging
        # --send-test and --rotate-key are the 3CX ways.
        return page("error.html", title="Not for a 3CX webhook",
                    message="Use gateway 3cx messaging --send-test or "
                    "--rotate-key for a 3CX chat webhook."), 400
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
    endpoint_id = request.args.get("endpoint_id", type=store.parse_id)
    rows, next_before = reports.deliveries(
        g.scope, status, endpoint_id,
        request.args.get("before", type=store.parse_id))
    return page("deliveries.html", rows=rows, status=status,
                endpoint_id=endpoint_id, next_before=next_before)


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
                chat=threecx_chat_setup.summarize(row),
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
