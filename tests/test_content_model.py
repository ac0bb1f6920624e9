"""Content policy 2: the corpus, the learned layer, loopholes, settings.

The held-out figures asserted here are measured on the "test" split of
tests/data/content_messages.json: the templates of
tools/content_templates_heldout.py, which tools/train_content_model.py
never fits or tunes on (split by template, so its phrasings are new).
"""
import json
import os
import subprocess
import sys
from collections import Counter

import pytest

import content_model
import content_policy
import content_stats
from conftest import create_account, message_rows, send_body
from content_policy import CATEGORIES, evaluate, load_policy, normalize_text

HERE = os.path.dirname(os.path.abspath(__file__))
MESSAGES = os.path.join(HERE, "data", "content_messages.json")
URL = "/api/send-message"
LANGS = ("en", "ar", "mixed", "arabizi")


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.fixture(scope="module")
def items():
    with open(MESSAGES, encoding="utf-8") as fh:
        return json.load(fh)["items"]


def _split(items, name):
    return [i for i in items if i["split"] == name]


def _metrics(items, policy):
    tp = fp = fn = 0
    cat_n, cat_hit = Counter(), Counter()
    for item in items:
        refused = evaluate(item["text"], policy).refused
        expect = item["label"] == "refuse"
        tp += refused and expect
        fp += refused and not expect
        fn += expect and not refused
        if expect:
            cat_n[item["category"]] += 1
            cat_hit[item["category"]] += refused
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, {c: cat_hit[c] / cat_n[c] for c in cat_n}


# --- the corpus -----------------------------------------------------------

def test_corpus_size_languages_categories_and_hard_cases(items):
    assert len(items) >= 2000
    for item in items:
        assert set(item) == {"text", "label", "lang", "dialect", "category",
                             "hard", "split", "source", "template"}
        assert item["label"] in ("allow", "refuse")
        assert item["split"] in ("train", "dev", "test")
        if item["label"] == "refuse":
            assert item["category"] in CATEGORIES
    for lang in LANGS:
        for label in ("allow", "refuse"):
            assert sum(i["lang"] == lang and i["label"] == label
                       for i in items) >= 40, (lang, label)
    assert sum(i["dialect"] == "gulf" for i in items) >= 150
    for split in ("train", "dev", "test"):
        cats = {i["category"] for i in _split(items, split)
                if i["label"] == "refuse"}
        assert cats == CATEGORIES, split
    for label in ("allow", "refuse"):
        group = [i for i in items if i["label"] == label]
        assert sum(i["hard"] for i in group) * 3 >= len(group), label
    texts = [i["text"] for i in items]
    assert len(texts) == len(set(texts))


def test_held_out_phrasings_never_appear_in_training(items):
    """Split by template: no held-out message shares its wording (digits
    and names aside) with a training or dev message."""
    import re

    def shape(text):
        return re.sub(r"\d+|[^\w\s]", "", normalize_text(text))[:60]
    seen = {shape(i["text"]) for i in items if i["split"] != "test"}
    test = _split(items, "test")
    leaked = [i["text"] for i in test if shape(i["text"]) in seen]
    assert len(leaked) <= len(test) * 0.02, leaked[:5]


def test_corpus_is_rebuilt_exactly_by_its_script(items, tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
    try:
        import build_content_corpus
        assert build_content_corpus.build() == items
    finally:
        sys.path.pop(0)


# --- held-out targets -----------------------------------------------------

def test_held_out_precision_recall_and_categories(policy, items):
    """Issue 17 targets on the held-out split: precision >= 0.97,
    recall >= 0.90, no category below 0.80 (see README for the figures
    by language; the asserts are the floors actually reached)."""
    test = _split(items, "test")
    precision, recall, cats = _metrics(test, policy)
    print(f"held-out: precision={precision:.3f} recall={recall:.3f}")
    for lang in LANGS:
        p, r, _ = _metrics([i for i in test if i["lang"] == lang], policy)
        print(f"held-out [{lang}]: precision={p:.3f} recall={r:.3f}")
    print("held-out category recall:", {c: round(v, 3)
                                        for c, v in sorted(cats.items())})
    assert precision >= HELD_OUT_PRECISION_FLOOR
    assert recall >= HELD_OUT_RECALL_FLOOR
    assert min(cats.values()) >= CATEGORY_RECALL_FLOOR


# The targets, reached on the held-out split (held-out set v2,
# tools/content_templates_heldout.py, frozen before the model was tuned;
# see README, "Content policy", for the figures).  Never lower these
# silently.
HELD_OUT_PRECISION_FLOOR = 0.97
HELD_OUT_RECALL_FLOOR = 0.90
CATEGORY_RECALL_FLOOR = 0.80


def test_rules_alone_stay_precise_on_held_out(items):
    rules = content_policy.load_rules()
    test = _split(items, "test")
    refused = [i for i in test
               if content_policy.check_content(i["text"], rules)]
    wrong = [i["text"] for i in refused if i["label"] == "allow"]
    # 2026-12-01, held-out set v2: 0 of 242.
    assert len(wrong) <= len(refused) * 0.02, wrong


# --- no loopholes ---------------------------------------------------------

LOOPHOLES = [
    "Your order #5521 was delivered 🎉 use code BACK20 for 20 % off this "
    "weekend only",
    "S.A.L.E 7O% 0ff everything this weekend!",
    "Invoice #3321 attached. Use code EID30 for 30% off your next order, "
    "valid until Sunday.",
    "F-R-E-E spins on your first deposit at Lucky Star Casino",
    "Ｍｅｇａ ＳＡＬＥ ｎｏｗ 60% off",
    "Mega s\u200ba\u200ble now 60% off",
    "Мega sаle now 60% off",  # Cyrillic М and а
    "تم توصيل طلبك رقم ٥٥٢١ 🎉 استخدم كود BACK20 لخصم ٢٠٪ هذا الأسبوع فقط",
    "تخفـــيضات الصيف بدأت! خَصْم ٥٠٪ تسوق الآن",
    "\u202eVote for Dr. Salem\u202c in the municipal elections on Thursday",
    "Congratulations! You have won 50,000 SAR. Claim your prize at "
    "bit.ly/3xQz9",
    "Bet on Al Hilal tonight! Odds 2.10, place your bet now",
]


@pytest.mark.parametrize("text", LOOPHOLES)
def test_loopholes_are_closed(policy, text):
    verdict = evaluate(text, policy)
    assert verdict.refused, verdict


HARD_ALLOWED = [
    "Hi Maha, your offer letter for the Senior Accountant role is attached."
    " Please sign by Thursday.",
    "Customs clearance for shipment 60457 is complete; delivery is "
    "expected Sunday.",
    "Your spa voucher (bought on 3 May) is attached and valid until 30 "
    "June. Show it at reception.",
    "Your OTP is 663019. This purchase earns you 50 bonus points.",
    "Your loyalty statement: 1,240 points available, 200 of them expire at "
    "the end of the month.",
    "Your order #48213 with 25% discount has been packed and will ship "
    "today.",
    "Election day: our office is closed. We reopen on Sunday.",
    "تم التخليص الجمركي لشحنتك رقم 60457، والتوصيل متوقع الأحد.",
    "كشف نقاط الولاء: لديك ١٢٤٠ نقطة، وتنتهي صلاحية ٢٠٠ منها نهاية الشهر.",
    # A link is not words: 3CX chat forwards media as text + URL.
    "two\nhttps://pbx.example.com/f/1.jpg",
    "see https://pbx.example.com/f/1.jpg",
    "Here is the invoice you asked for https://example.com/inv/2231.pdf",
]


@pytest.mark.parametrize("text", HARD_ALLOWED)
def test_hard_allowed_messages_pass(policy, text):
    verdict = evaluate(text, policy)
    assert not verdict.refused, verdict


def test_transactional_markers_lower_the_model_score(policy):
    bare = evaluate("Your table is ready and the 20% discount is applied",
                    policy)
    marked = evaluate("Your order #5521 is ready and the 20% discount was "
                      "applied to invoice #3321", policy)
    assert marked.model_score <= bare.model_score


@pytest.mark.parametrize("raw, expected", [
    ("S.A.L.E", "sale"), ("f-r-e-e spins", "free spins"),
    ("s a l e today", "sale today"), ("7O% 0ff", "70% off"),
    ("fr33 gift", "free gift"), ("Мega", "mega"), ("crédit", "credit"),
    ("sa\u2060le", "sale"), ("\u2067sale\u2069", "sale"),
    ("ڤيزا گوگل یومی", "فيزا كوكل يومي"), ("٣٠٪", "30%"),
    ("3ard 5ass", "3ard 5ass"),  # Arabizi keeps its digits
    ("Order A-1182 at 4:00pm", "order a-1182 at 4:00pm"),
    # Numbers past any real length are cut: no regex backtracks on them.
    ("1" * 3000, "1" * 20), ("1," * 2000, "1," * 10),
    ("total 1,234,567.50 sar", "total 1,234,567.50 sar"),
])
def test_normalisation_undoes_obfuscation(policy, raw, expected):
    assert normalize_text(raw, policy.words) == expected


# --- the verdict ----------------------------------------------------------

def test_verdict_details_never_carry_the_text(policy, items):
    refused = [i["text"] for i in _split(items, "test")
               if i["label"] == "refuse"][:200]
    vocab = set(policy.model.table)
    rule_signals = {s.name for r in policy.rules for s in r.signals}
    for text in refused:
        verdict = evaluate(text, policy)
        if not verdict.refused:
            continue
        details = verdict.details()
        assert set(details) >= {"rule", "category", "risk_score", "signals"}
        assert details["category"] in CATEGORIES
        assert 0 <= details["risk_score"] <= 100
        assert text not in json.dumps(details, ensure_ascii=False)
        for signal in details["signals"]:
            # Signals are rule names or model vocabulary, never free text.
            assert signal in rule_signals or f" {signal} " in vocab \
                or signal in vocab, signal


def test_model_refusal_names_model_and_category(policy):
    text = ("Hi Khalid, a colleague mentioned you're opening a second "
            "branch. We fitted out three cafés in Jeddah last year — "
            "happy to share what worked.")
    verdict = evaluate(text, policy)
    assert verdict.refused
    assert verdict.category == "cold_outreach"


def test_strictness_moves_only_the_model_threshold(policy, items):
    # Held-out text: the model fits train and dev almost perfectly.
    texts = [i["text"] for i in items if i["split"] == "test"][::3]
    refused = {s: sum(evaluate(t, policy, strictness=s).refused
                      for t in texts) for s in content_policy.STRICTNESS}
    assert refused["relaxed"] <= refused["standard"] <= refused["strict"]
    assert refused["relaxed"] < refused["strict"]
    rule_hit = "Vote for Dr. Salem in the municipal elections on Thursday!"
    assert evaluate(rule_hit, policy, strictness="relaxed").refused
    with pytest.raises(ValueError):
        evaluate("hello", policy, strictness="lax")


def test_allow_phrases_remove_a_business_name(policy):
    text = LUCKY
    assert evaluate(text, policy).refused
    verdict = evaluate(text, policy, allow_phrases=["Lucky Casino Café"])
    assert not verdict.refused
    # The phrase is removed, not a pass for the whole message.
    promo = "Lucky Casino Café: 50% off everything this weekend only!"
    assert evaluate(promo, policy,
                    allow_phrases=["lucky casino cafe"]).refused


LUCKY = "Lucky Casino Café: your table for 4 is booked for Friday at 8 PM."


def test_model_without_file_is_rules_only_and_bad_file_fails(tmp_path):
    assert load_policy(model_path="off").model is None
    bad = tmp_path / "m.json"
    bad.write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(ValueError, match="m.json"):
        load_policy(model_path=str(bad))


def test_runtime_is_pure_python():
    code = ("import sys, content_policy; content_policy.load_policy(); "
            "print(sorted(m for m in ('numpy', 'scipy', 'sklearn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, cwd=os.path.dirname(HERE), check=True)
    assert out.stdout.strip() == "[]"


def test_model_file_is_what_the_trainer_writes(policy):
    with open(content_model.DEFAULT_MODEL_PATH, encoding="utf-8") as fh:
        doc = json.load(fh)
    assert doc["format"] == content_model.FORMAT
    # Trained on train + dev only: never on the held-out split.
    with open(MESSAGES, encoding="utf-8") as fh:
        items = json.load(fh)["items"]
    assert doc["training"]["messages"] == sum(
        i["split"] != "test" for i in items)
    assert 0 < doc["threshold"] < 1


# --- through the API, the CLI and the counts ------------------------------

def post(client, account, path=URL, **body):
    return client.post(path, json=send_body(**body), headers=account.headers)


def test_refusal_details_over_http(client, account, sandbox):
    text = "Bet on Al Hilal tonight! Odds 2.10, place your bet now"
    response = post(client, account, message=text)
    assert response.status_code == 403
    body = response.get_json()
    assert body["error"] == "policy_violation"
    assert body["details"]["category"] == "gambling"
    assert body["details"]["rule"]
    assert 0 <= body["details"]["risk_score"] <= 100
    assert body["details"]["signals"]
    assert text not in response.get_data(as_text=True)
    assert message_rows()[0].reason == "content:gambling:%s" % (
        body["details"]["rule"])
    assert not sandbox.state.sent_messages()


def test_dry_run_shows_the_content_verdict(client, account, sandbox):
    response = post(client, account, path=URL + "?dry_run=true",
                    message="Your order #2041 has been shipped.")
    assert response.status_code == 200
    content = response.get_json()["content_policy"]
    assert content["rule"] is None and content["category"] is None
    assert 0 <= content["risk_score"] < 50
    assert "model_score" in content
    refused = post(client, account, path=URL + "?dry_run=true",
                   message="Flash sale 70% off everything, shop now!")
    assert refused.status_code == 403
    assert refused.get_json()["details"]["category"] == "promotion"
    assert not message_rows()


def test_customer_settings_apply_to_sends(client, account, sandbox):
    import store
    text = LUCKY
    assert post(client, account, message=text).status_code == 403
    with store.db.connection_context():
        store.Customer.update(
            content_allow_phrases="Lucky Casino Café\nother").where(
            store.Customer.id == account.customer_id).execute()
    assert post(client, account, message=text).status_code == 200


def test_refusals_are_counted_by_rule_and_category(client, account,
                                                   sandbox):
    import store
    for text in ("Bet on Al Hilal tonight! Odds 2.10, place your bet now",
                 "Bet on Al Nassr tonight! Odds 1.90, place your bet now",
                 "Flash sale 70% off everything, shop now!"):
        assert post(client, account, message=text).status_code == 403
    post(client, account)  # sent: not counted
    with store.db.connection_context():
        counts = content_stats.count_refusals()
        assert counts[0]["category"] == "gambling"
        assert counts[0]["count"] == 2
        assert sum(c["count"] for c in counts) == 3
        assert content_stats.count_refusals(customer_id=999) == []


GATEWAY = os.path.join(os.path.dirname(sys.executable), "gateway")


def test_policy_cli(tmp_path):
    env = dict(os.environ, GATEWAY_DATABASE_URL="sqlite:///%s" % (
        tmp_path / "cli.db"))

    def run(*args, expect=0):
        proc = subprocess.run([GATEWAY, *args], capture_output=True,
                              text=True, env=env, timeout=60)
        assert proc.returncode == expect, proc.stderr
        return json.loads(proc.stdout) if expect == 0 else proc

    run("init-db")
    out = run("policy", "check", "S.A.L.E 7O% 0ff everything this weekend!")
    assert out["verdict"] == "refuse" and out["category"] == "promotion"
    assert out["signals"] and 0 <= out["risk_score"] <= 100
    out = run("policy", "check", "Your OTP is 4821. Do not share it.")
    assert out["verdict"] == "allow" and out["rule"] is None
    run("customers", "create", "Lucky Casino Café")
    assert run("policy", "strictness", "1") == {
        "customer_id": 1, "strictness": "standard"}
    assert run("policy", "strictness", "1", "strict")["strictness"] == \
        "strict"
    run("policy", "strictness", "1", "lax", expect=2)
    assert run("policy", "allow-phrases", "1", "add",
               "Lucky Casino Café")["allow_phrases"] == ["Lucky Casino Café"]
    text = LUCKY
    assert run("policy", "check", text)["verdict"] == "refuse"
    out = run("policy", "check", text, "--customer", "1")
    assert out["verdict"] == "allow" and out["strictness"] == "strict"
    run("policy", "allow-phrases", "1", "remove", "nope", expect=2)
    run("policy", "check", "x", "--customer", "9", expect=2)
    assert run("policy", "refusals") == []
    assert run("policy", "refusals", "--since", "2026-01-01",
               "--customer", "1") == []
