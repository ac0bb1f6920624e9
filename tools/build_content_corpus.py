"""Build tests/data/content_messages.json from tools/content_templates.py.

    python tools/build_content_corpus.py

Deterministic (seeded).  Each template yields several variants: its
slots filled from FILL, sometimes a greeting or sign-off, Arabic-Indic
digits in Arabic text, and for some messages the tricks senders use to
walk past keyword filters (S.A.L.E, 0ff, zero-width characters) — on
refused and allowed messages alike, so obfuscation alone is no signal.

Splits are by template: every variant of a template lands in the same
split, so held-out phrasings are never seen in training.  "test" (held
out) is exactly the templates of tools/content_templates_heldout.py,
written before the model was last tuned and frozen; the templates of
tools/content_templates.py are "train" or "dev".  The v1 corpus and its old hold-out set
(tests/data/content_corpus.json, content_holdout.json) join "train",
minus any message too close to a test message.
"""

import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

import content_policy  # noqa: E402
import content_templates as T  # noqa: E402
import content_templates_heldout as H  # noqa: E402

OUT = os.path.join(ROOT, "tests", "data", "content_messages.json")
V1 = [os.path.join(ROOT, "tests", "data", "content_corpus.json"),
      os.path.join(ROOT, "tests", "data", "content_holdout.json")]
VARIANTS = {"refuse": 7, "allow": 7}

PREFIX = {
    "en": ["", "", "", "Hi {name}, ", "Dear customer, ", "Hello! ",
           "{shop}: "],
    "ar": ["", "", "", "مرحباً {aname}، ", "عزيزي العميل، ", "{ashop}: "],
    "ar-gulf": ["", "", "", "هلا {aname}، ", "مساء الخير، "],
    "mixed": ["", "", "Hi {aname}، "],
    "arabizi": ["", "", "hala {zname}, ", "marhaba, "],
}
SUFFIX = {
    "en": ["", "", "", " Thank you.", " — {shop}", " 🙏", " Thanks!"],
    "ar": ["", "", "", " شكراً لك.", " — {ashop}", " 🌹"],
    "ar-gulf": ["", "", "", " الله يحييك.", " 🌹"],
    "mixed": ["", "", " thanks!"],
    "arabizi": ["", "", " shukran", " 🙏"],
}
AR_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
TRIGGER_WORDS = ("sale", "off", "free", "discount", "deal", "offer", "bet",
                 "casino", "vote", "win", "bonus", "code", "prize")


def fill(template, rng):
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(T.FILL[m.group(1)]),
                  template)


def obfuscate(text, rng):
    """Apply one trick a sender might use to hide a trigger word."""
    trick = rng.choice(["spaced", "leet", "zw", "case"])
    words = text.split(" ")
    idx = [i for i, w in enumerate(words)
           if w.strip(".,!:%").lower() in TRIGGER_WORDS]
    if trick == "zw" or not idx:
        pos = rng.randrange(1, max(2, len(text) - 1))
        return text[:pos] + rng.choice(["\u200b", "\u200c", "\u2066",
                                        "\u200f"]) + text[pos:]
    i = rng.choice(idx)
    word = words[i]
    if trick == "spaced":
        sep = rng.choice([".", "-", "*", " "])
        words[i] = sep.join(word)
    elif trick == "leet":
        words[i] = "".join(LEET.get(c.lower(), c) if rng.random() < .7
                           else c for c in word)
    else:
        words[i] = word.upper()
    return " ".join(words)


def variants(label, lang, template, rng):
    out = []
    for n in range(VARIANTS[label] * 3):
        if len(out) >= VARIANTS[label]:
            break
        base = "ar" if lang == "ar-gulf" else lang
        text = fill(template, rng)
        if n:  # the first variant is the template as written
            text = (fill(rng.choice(PREFIX[lang]), rng) + text
                    + fill(rng.choice(SUFFIX[lang]), rng))
        if base == "ar" and rng.random() < 0.3:
            text = text.translate(AR_DIGITS)
        if lang in ("en", "mixed", "arabizi") and rng.random() < 0.15:
            text = obfuscate(text, rng)
        if text not in out:
            out.append(text)
    return out


# Words that make a message look like selling.  "hard" means an allowed
# message that uses one, or a refused one that uses none; templates can
# also be marked hard by hand (tools/content_templates.py).
SALES_WORDS = re.compile(
    r"(?<!\w)(?:sale|sales|off|discount\w*|offer\w*|deal\w*|promo\w*|"
    r"code|coupon|voucher|free|save|bonus|win|won|prize|cashback|points|"
    r"% ?off|buy|shop|order now|خصم\w*|عرض|عروض|تخفيض\w*|مجان\w*|ببلاش|"
    r"كود|كوبون|قسيمه|وفر\w*|هديه|اربح|ربحت|نقاط|كاش باك|3ard|5asm|"
    r"balash|ta5fid\w*)(?!\w)|%")


def is_hard(text, label, marked):
    sales = SALES_WORDS.search(content_policy.normalize_text(text))
    return bool(marked or (sales if label == "allow" else not sales))


def split_of(index):
    """Training templates: every eighth is "dev", the rest "train".
    (Until 2026-12-01 every fourth was "test"; that held-out set was
    scored during development, so it joined training and a fresh one,
    tools/content_templates_heldout.py, replaced it.)"""
    return "dev" if index % 8 == 3 else "train"


def tokens(text):
    return set(re.findall(r"\w+", text.lower()))


def build():
    rng = random.Random(17)
    items, seen = [], set()
    # Held-out first: a training variant that happens to equal a held-out
    # message is dropped from training, and the held-out set never moves.
    sources = (("refuse", H.REFUSE, "test"), ("allow", H.ALLOW, "test"),
               ("refuse", T.REFUSE, None), ("allow", T.ALLOW, None))
    for label, groups, fixed in sources:
        for category, lang, hard, templates in groups:
            for i, template in enumerate(templates):
                split = fixed or split_of(i)
                for text in variants(label, lang, template, rng):
                    if text in seen:
                        continue
                    seen.add(text)
                    items.append({
                        "text": text, "label": label,
                        "lang": "ar" if lang == "ar-gulf" else lang,
                        "dialect": "gulf" if lang == "ar-gulf" else "",
                        "category": category,
                        "hard": is_hard(text, label, hard), "split": split,
                        "template": f"{'heldout/' if fixed else ''}"
                                    f"{category}/{lang}/{int(hard)}/{i}",
                        "source": "template"})
    test_tokens = [tokens(i["text"]) for i in items if i["split"] == "test"]
    for path in V1:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        old = doc["items"] + [i for p in doc.get("probes", ())
                              for i in p["items"]]
        for item in old:
            if item["text"] in seen:
                continue
            toks = tokens(item["text"])
            if any(len(toks & t) / max(1, len(toks | t)) > 0.5
                   for t in test_tokens):
                continue  # too close to a held-out message
            seen.add(item["text"])
            items.append({**item, "dialect": "", "template": "v1",
                          "hard": is_hard(item["text"], item["label"], False),
                          "split": "train", "source": "v1"})
    return items


def main():
    items = build()
    doc = {
        "description": (
            "Labelled WhatsApp messages for the content policy (rules + "
            "model). Built by tools/build_content_corpus.py from the "
            "hand-written templates in tools/content_templates.py plus the "
            "v1 corpus. label: allow|refuse; category: the refusal "
            "category, or the kind of allowed message; lang: en, ar, mixed "
            "or arabizi (dialect 'gulf' for Gulf colloquial Arabic); hard: "
            "allowed text with sales-like words or refused text with none; "
            "split: train (model fitting), dev (threshold tuning) or test "
            "(held out, never seen by training; split by template); template: "
            "which template a message came from (v1: the old corpus)."),
        "items": items,
    }
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=0)
        fh.write("\n")
    from collections import Counter
    print(len(items), "messages ->", OUT)
    print(Counter((i["split"], i["label"]) for i in items))
    print(Counter((i["label"], i["hard"]) for i in items))
    print(Counter(i["lang"] for i in items))


if __name__ == "__main__":
    main()
