"""Tests for content_policy: rule loading, normalisation and accuracy."""

import dataclasses
import json
import os
import re

import pytest

import content_policy
from content_policy import (
    CATEGORIES, DEFAULT_RULES_PATH, Violation, check_content, load_rules,
    normalize_text)

CORPUS_PATH = os.path.join(
    os.path.dirname(__file__), "data", "content_corpus.json")
HOLDOUT_PATH = os.path.join(
    os.path.dirname(__file__), "data", "content_holdout.json")


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.fixture(scope="module")
def corpus():
    with open(CORPUS_PATH, encoding="utf-8") as fh:
        return json.load(fh)["items"]


@pytest.fixture(scope="module")
def holdout():
    with open(HOLDOUT_PATH, encoding="utf-8") as fh:
        return json.load(fh)


# --- loading ---------------------------------------------------------------

def test_default_rules_path_is_next_to_module():
    here = os.path.dirname(os.path.abspath(content_policy.__file__))
    assert DEFAULT_RULES_PATH == os.path.join(here, "content_rules.json")


def test_load_default_rules(rules):
    assert rules.version
    assert rules.rules
    assert load_rules(DEFAULT_RULES_PATH) == rules  # deterministic
    ids = [r.id for r in rules.rules]
    assert len(ids) == len(set(ids))
    assert {r.category for r in rules.rules} == CATEGORIES
    assert {r.lang for r in rules.rules} >= {"en", "ar"}


def test_rules_are_immutable(rules):
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.version = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.rules[0].min_signals = 99
    assert isinstance(rules.rules, tuple)


def test_default_file_documents_normalised_patterns():
    with open(DEFAULT_RULES_PATH, encoding="utf-8") as fh:
        doc = json.load(fh)
    assert "normalised" in doc["description"]
    assert doc["version"]


def _write(tmp_path, doc):
    path = tmp_path / "rules.json"
    text = doc if isinstance(doc, str) else json.dumps(doc)
    path.write_text(text, encoding="utf-8")
    return path


def _doc(**rule_overrides):
    """A minimal valid rules document, with the one rule overridden."""
    rule = {"id": "t.promo", "category": "promotion", "lang": "en",
            "signals": ["s"]}
    rule.update(rule_overrides)
    return {"version": "1", "signals": {"s": {"keywords": ["sale"]}},
            "rules": [rule]}


def test_minimal_custom_file_loads(tmp_path):
    rules = load_rules(_write(tmp_path, _doc()))
    assert check_content("big sale", rules) == Violation(
        rule="t.promo", category="promotion")
    assert check_content("wholesale price list", rules) is None


@pytest.mark.parametrize("doc, problem", [
    ("{not json", "cannot read"),
    ("[]", "top level must be a JSON object"),
    ({"signals": {}, "rules": []}, "'version'"),
    ({"version": "1", "rules": []}, "'rules' must be a non-empty list"),
    (_doc(category="spam"), "unknown category 'spam'"),
    (_doc(signals=["nope"]), "unknown signal 'nope'"),
    (_doc(min_signals=2), "'min_signals'"),
    (_doc(min_signals="1"), "'min_signals'"),
    (_doc(lang="English"), "'lang'"),
    (_doc(unles=["s"]), "unknown key(s): unles"),
    (_doc(id=""), "non-empty string 'id'"),
    ({**_doc(), "rules": _doc()["rules"] * 2}, "duplicate rule id"),
    ({**_doc(), "signals": {"s": {"patterns": ["(unclosed"]}}},
     "bad regex"),
    ({**_doc(), "signals": {"s": {"patterns": ["خصومة"]}}},
     "not in normalised form"),
    ({**_doc(), "signals": {"s": {}}}, "at least one keyword or pattern"),
    ({**_doc(), "signals": {"s": {"keywords": "sale"}}},
     "list of non-empty strings"),
    ({**_doc(), "signals": {"s": {"keywords": ["ـ"]}}}, "empty"),
    ('{"version": "1", "version": "2", "rules": []}', "duplicate key"),
])
def test_malformed_files_raise_value_error(tmp_path, doc, problem):
    path = _write(tmp_path, doc)
    with pytest.raises(ValueError) as info:
        load_rules(path)
    message = str(info.value)
    assert str(path) in message
    assert problem in message


def test_missing_file_raises_value_error(tmp_path):
    path = tmp_path / "absent.json"
    with pytest.raises(ValueError, match="absent.json"):
        load_rules(path)


# --- normalisation --------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("خَصْمٌ", "خصم"),                        # harakat
    ("عـــرض", "عرض"),                        # tatweel
    ("أإآٱ", "اااا"),                          # alef forms
    ("مستشفى الرعاية", "مستشفي الرعايه"),     # ى -> ي, ة -> ه
    ("رمز ٧٣٩٢", "رمز 7392"),                 # Arabic-Indic digits
    ("کد ۴۸۲۱", "كد 4821"),                   # Persian digits, letters
    ("خصم ٢٠٪", "خصم 20%"),                   # Arabic percent sign
    ("ﻻ", "لا"),                               # presentation form (NFKC)
    ("ＳＡＬＥ  Now\n\tOK", "sale now ok"),    # NFKC, casefold, spaces
    ("STRASSE", "strasse"),
    ("sa\u200ble", "sale"),                    # zero-width space
    ("\u0627\u0654\u064b", "ا"),               # decomposed hamza + tanween
])
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_arabic_keywords_match_with_attached_prefixes(tmp_path):
    doc = {"version": "1",
           "signals": {"s": {"keywords": ["خصم", "المجلس البلدي",
                                          "discount*"]}},
           "rules": [{"id": "t", "category": "promotion", "lang": "ar",
                      "signals": ["s"]}]}
    rules = load_rules(_write(tmp_path, doc))
    for text in ("بخصم كبير", "والخصم", "للمجلس البلدي", "DISCOUNTS"):
        assert check_content(text, rules) is not None, text
    for text in ("خصمين", "المخصص", "discard"):
        assert check_content(text, rules) is None, text


# --- violations -----------------------------------------------------------

def test_check_content_rejects_non_text(rules):
    with pytest.raises(TypeError):
        check_content(None, rules)


def test_violation_never_contains_the_text(rules, corpus):
    refused = [item["text"] for item in corpus if item["label"] == "refuse"]
    assert [f.name for f in dataclasses.fields(Violation)] == [
        "rule", "category"]
    for text in refused:
        violation = check_content(text, rules)
        if violation is None:
            continue
        assert violation.category in CATEGORIES
        dumped = repr(violation) + str(dataclasses.asdict(violation))
        assert text not in dumped
        assert normalize_text(text) not in dumped
        assert len(violation.rule) < 60


def test_empty_and_whitespace_text_pass(rules):
    assert check_content("", rules) is None
    assert check_content(" \n\t ", rules) is None


# --- corpus evaluation ----------------------------------------------------

def test_corpus_shape(corpus):
    def count(lang, label):
        return sum(1 for i in corpus
                   if i["lang"] == lang and i["label"] == label)
    for lang in ("en", "ar"):
        for label in ("allow", "refuse"):
            assert count(lang, label) >= 40, (lang, label)
    for item in corpus:
        assert set(item) == {"text", "label", "lang", "category"}
        if item["label"] == "refuse":
            assert item["category"] in CATEGORIES
    texts = [i["text"] for i in corpus]
    assert len(texts) == len(set(texts))


def _score(items, rules):
    tp = fp = fn = 0
    for item in items:
        refused = check_content(item["text"], rules) is not None
        expected = item["label"] == "refuse"
        tp += refused and expected
        fp += refused and not expected
        fn += expected and not refused
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def test_corpus_precision_and_recall(rules, corpus):
    precision, recall = _score(corpus, rules)
    for lang in ("en", "ar"):
        p, r = _score([i for i in corpus if i["lang"] == lang], rules)
        print(f"content policy [{lang}]: precision={p:.3f} recall={r:.3f}")
    print(f"content policy [all]: precision={precision:.3f} "
          f"recall={recall:.3f} over {len(corpus)} messages")
    assert precision >= 0.95, f"precision {precision:.3f}"
    assert recall >= 0.95, f"recall {recall:.3f}"


def test_holdout_shape(holdout, corpus):
    items = holdout["items"]
    for lang in ("en", "ar"):
        for label in ("allow", "refuse"):
            assert sum(1 for i in items if i["lang"] == lang
                       and i["label"] == label) >= 50, (lang, label)
    texts = [i["text"] for i in items]
    texts += [i["text"] for p in holdout["probes"] for i in p["items"]]
    for item in items + [i for p in holdout["probes"] for i in p["items"]]:
        assert set(item) == {"text", "label", "lang", "category"}
        if item["label"] == "refuse":
            assert item["category"] in CATEGORIES
    assert len(texts) == len(set(texts))
    assert not set(texts) & {i["text"] for i in corpus}


def test_holdout_precision_and_recall(rules, holdout):
    """Messages written independently of the rules (see the file's
    description: the main set has since been tuned on; the untuned
    probe batch is printed, not asserted, as the honest estimate)."""
    items = holdout["items"]
    for lang in ("en", "ar"):
        p, r = _score([i for i in items if i["lang"] == lang], rules)
        print(f"holdout [{lang}]: precision={p:.3f} recall={r:.3f}")
        assert p >= 0.95, f"{lang} precision {p:.3f}"
        assert r >= 0.85, f"{lang} recall {r:.3f}"
    precision, recall = _score(items, rules)
    print(f"holdout [all]: precision={precision:.3f} recall={recall:.3f} "
          f"over {len(items)} messages")
    assert precision >= 0.95 and recall >= 0.85
    for probe in holdout["probes"]:
        for lang in ("en", "ar"):
            p, r = _score([i for i in probe["items"] if i["lang"] == lang],
                          rules)
            print(f"{probe['name']} (tuned_on={probe['tuned_on']}) "
                  f"[{lang}]: precision={p:.3f} recall={r:.3f}")


def test_corpus_categories_mostly_agree(rules, corpus):
    hits = [(check_content(i["text"], rules), i["category"])
            for i in corpus if i["label"] == "refuse"]
    hits = [(v, c) for v, c in hits if v is not None]
    agree = sum(v.category == c for v, c in hits) / len(hits)
    print(f"content policy: category agreement={agree:.3f}")
    assert agree >= 0.85


# --- the literal prefilter is only an optimisation ------------------------

def _naive_signals(doc):
    """Each signal as one regex per keyword and pattern, unoptimised."""
    out = {}
    for name, spec in doc["signals"].items():
        regexes = [re.compile("".join(content_policy._keyword_regex(k, "")))
                   for k in spec.get("keywords", [])]
        regexes += [re.compile(p) for p in spec.get("patterns", [])]
        out[name] = regexes
    return out


def test_prefiltered_signals_match_exactly_like_naive_regexes(
        rules, corpus, holdout):
    with open(DEFAULT_RULES_PATH, encoding="utf-8") as fh:
        doc = json.load(fh)
    naive = _naive_signals(doc)
    texts = [i["text"] for i in corpus + holdout["items"]]
    for spec in doc["signals"].values():  # each keyword, as written
        for keyword in spec.get("keywords", []):
            word = keyword.rstrip("*")
            texts += [word, f"و{word} x", f"x لل{word[2:]}", f"{word}ات"]
    signals = {s.name: s for r in rules.rules for s in r.signals + r.unless}
    for text in texts:
        normal = normalize_text(text)
        for name, signal in signals.items():
            expected = any(rx.search(normal) for rx in naive[name])
            assert signal.search(normal) == expected, (name, text)


@pytest.mark.parametrize("pattern, literals", [
    (r"\bhop on a (?:quick )?call\b", ("hop on a ",)),
    (r"\bwin an? (?:free )?\w+", ("win a",)),
    (r"(?<!\w)[وف]?(?:اطلب|احجز)\w* الان", ("اطلب", "احجز")),
    (r"\binterested\?", ("interested?",)),
    (r"(?:^|[.!?] )vote", ()),               # group of non-literals
    (r"a|bcd", ()),                          # top-level alternation
    (r"(?<!\w)ل?اول \d+", ()),              # optional first letter
    (r"(?:ab|c) x", ()),                     # too-short alternative
    (r"(?:ab|cd)[|]x", ("ab", "cd")),       # "|" inside a class
])
def test_pattern_literals(pattern, literals):
    assert content_policy._pattern_literals(pattern) == literals


def test_patterns_with_groups_and_inline_flags_still_work(tmp_path):
    doc = {"version": "1",
           "signals": {"s": {"patterns": ["(?i)big\\s+sale",
                                          "(la)\\1 offer"]},
                       "t": {"keywords": ["sale"],
                             "patterns": ["(?P<w>deal)s? (?P=w)"]}},
           "rules": [{"id": "a", "category": "promotion", "lang": "en",
                      "signals": ["s"]},
                     {"id": "b", "category": "promotion", "lang": "en",
                      "signals": ["t"]}]}
    rules = load_rules(_write(tmp_path, doc))
    assert check_content("BIG  sale", rules).rule == "a"
    assert check_content("lala offer", rules).rule == "a"
    assert check_content("deals deal", rules).rule == "b"
    assert check_content("la offer", rules) is None


# --- explicit must-pass transactional texts -------------------------------

MUST_PASS = [
    # English
    "Order #A-1182 confirmed: 2 items, 318.50 SAR, paid by mada.",
    "Your order with 15% off has been packed and will ship today.",
    "Your shipment SMSA 77120 is out for delivery in Jeddah.",
    "Your one-time password is 663019. Do not share it with anyone.",
    "Your OTP is 4821. Do not share it.",
    "Reminder: your appointment at the clinic tomorrow at 9:15.",
    "Invoice #3321 for 1,200 SAR is attached. Due in 30 days.",
    "Your refund of 75 SAR has been sent to your original card.",
    "Discount applied to your invoice: 5% early payment credit.",
    "Support: we have escalated your ticket #9910 to our engineers.",
    "We are offering you a callback for your support ticket.",
    "Election day: our office is closed.",
    "All staff: the fire drill is at 11:00 today, use stairway B.",
    # Arabic
    "تم تأكيد طلبك رقم 5521 بمبلغ 318 ريال، وسيتم الشحن خلال يومين.",
    "تم شحن طلبك بخصم 15٪ وسيصلك غداً في جدة.",
    "شحنتك رقم 77120 مع المندوب وستصلك اليوم.",
    "رمز التحقق لمرة واحدة: ٦٦٣٠١٩. لا تشاركه مع أحد.",
    "تذكير: موعدك في عيادة الأسنان غداً الساعة 9:15 صباحاً.",
    "مرفق فاتورة رقم 3321 بمبلغ 1200 ريال، تستحق خلال 30 يوماً.",
    "تم استرداد 75 ريال إلى بطاقتك الأصلية.",
    "الدعم الفني: تم تصعيد تذكرتك رقم 9910 إلى فريق المهندسين.",
    "وصل طلبك، نتمنى لك يوماً سعيداً.",
    "يوم الانتخابات: الفرع مغلق، ونستقبلكم يوم الجمعة.",
    "إلى جميع الموظفين: تدريب الإخلاء الساعة 11 اليوم.",
]


@pytest.mark.parametrize("text", MUST_PASS)
def test_transactional_text_passes(rules, text):
    assert check_content(text, rules) is None


MUST_REFUSE = [
    ("Mega sale this weekend only: 60% off everything, shop now!",
     "promotion"),
    ("Forward this to all your friends right now!", "bulk_campaign"),
    ("Vote for our candidate in the municipal elections.", "political"),
    ("تخفيضات الصيف بدأت! خصم 50٪ تسوق الآن", "promotion"),
    ("صوتوا لقائمة النهضة يوم الخميس", "political"),
    ("أرسل هذه الرسالة لكل جهات الاتصال عندك", "bulk_campaign"),
]


@pytest.mark.parametrize("text, category", MUST_REFUSE)
def test_obvious_campaigns_are_refused(rules, text, category):
    violation = check_content(text, rules)
    assert violation is not None
    assert violation.category == category


def test_signal_index_matches_each_signal_exactly(rules, corpus, holdout):
    """matched_signals() (one pass over the text's 3-grams) finds exactly
    the signals whose own search() matches."""
    with open(DEFAULT_RULES_PATH, encoding="utf-8") as fh:
        doc = json.load(fh)
    texts = [i["text"] for i in corpus + holdout["items"]]
    for spec in doc["signals"].values():
        for keyword in spec.get("keywords", []):
            word = keyword.rstrip("*")
            texts += [word, f"و{word} x", f"{word}ات", f"ab {word}"]
    signals = {s.name: s for r in rules.rules for s in r.signals + r.unless}
    assert set(signals) == set(doc["signals"])
    for text in texts:
        normal = normalize_text(text)
        expected = {n for n, s in signals.items() if s.search(normal)}
        assert content_policy.matched_signals(normal, rules) == expected, \
            text


STRONG_OVER_TRANSACTIONAL = [
    ("Your order #5521 was delivered 🎉 use code BACK20 for 20 % off this "
     "weekend only", "promotion"),
    ("Invoice #3321 attached. Use code EID30 for 30% off, valid until "
     "Sunday.", "promotion"),
    ("تم توصيل طلبك رقم 5521، استخدم كود BACK20 لخصم 20٪ هذا الأسبوع فقط",
     "promotion"),
    ("Your refund was processed. Bet on Al Hilal tonight, odds 2.10!",
     "gambling"),
]


@pytest.mark.parametrize("text, category", STRONG_OVER_TRANSACTIONAL)
def test_transactional_markers_never_cancel_strong_rules(rules, text,
                                                         category):
    violation = check_content(text, rules)
    assert violation is not None and violation.category == category
