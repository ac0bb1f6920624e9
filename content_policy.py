"""Content policy: refuse marketing, promotion, outreach and campaigns.

The gateway relays only transactional and operational WhatsApp texts
(orders, OTPs, reminders, receipts, support replies, internal notices).
This module decides, from data-driven rules kept in a JSON file, whether
a free-text message looks like marketing, promotion, cold outreach, a
bulk campaign or political campaigning.  Pure stdlib; no HTTP, no Flask.

The rules file (content_rules.json) has a "version", named "signals"
({"keywords": [...], "patterns": [...]}) and an ordered list of "rules"
({"id", "category", "lang", "signals", "min_signals", "unless"}).
A signal matches when any of its keywords or regex patterns is found in
the normalised text.  A rule fires when at least ``min_signals``
(default 1) of its signals match and none of its ``unless`` signals do.
Rules are tried in file order; the first one that fires wins.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass, field

DEFAULT_RULES_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "content_rules.json")

CATEGORIES = frozenset({"marketing", "promotion", "cold_outreach",
                        "bulk_campaign", "political"})

_TOP_KEYS = {"version", "description", "signals", "rules"}
_SIGNAL_KEYS = {"keywords", "patterns", "note"}
_RULE_KEYS = {"id", "category", "lang", "signals", "min_signals", "unless",
              "note"}
_LANG_RE = re.compile(r"[a-z]{2,3}|any")

# Characters normalize_text() rewrites or drops.  Harakat and tatweel
# are decoration; alef/yaa/taa-marbuta variants are spelled
# interchangeably in everyday Gulf Arabic; bidi and zero-width marks are
# invisible and would let a sender split a keyword.
_FOLD: dict[int, str | None] = {ord(ch): "ا" for ch in "أإآٱ"}
_FOLD.update({ord("ى"): "ي", ord("ة"): "ه", ord("٪"): "%"})
# Phone keyboards type curly apostrophes: "don’t" must match "don't".
_FOLD.update(dict.fromkeys([0x2018, 0x2019, 0x02BC], "'"))
# Tatweel, superscript alef, Arabic letter mark, BOM.
_FOLD.update(dict.fromkeys([0x0640, 0x0670, 0x061C, 0xFEFF]))
_FOLD.update(dict.fromkeys(range(0x064B, 0x0660)))  # harakat
_FOLD.update(dict.fromkeys(range(0x200B, 0x2010)))  # zero-width, LRM/RLM
_FOLD.update(dict.fromkeys(range(0x202A, 0x202F)))  # bidi embeddings
_FOLD.update(dict.fromkeys(range(0x2066, 0x206A)))  # bidi isolates
for _i in range(10):
    _FOLD[0x0660 + _i] = str(_i)  # Arabic-Indic digits
    _FOLD[0x06F0 + _i] = str(_i)  # Persian (Extended Arabic-Indic)
_FOLD_TABLE = str.maketrans(_FOLD)
# Arabic characters a normalised pattern can never contain.
_ARABIC_FOLDED = frozenset(chr(c) for c in _FOLD if 0x600 <= c <= 0x6FF)

# Arabic attaches conjunctions, prepositions and the article to the
# word ("بخصم", "والعروض"), so Arabic keywords tolerate these prefixes.
_AR_PREFIX = "(?:[وف]?(?:[بك]?ال|لل|[بكلس])?)"


@dataclass(frozen=True)
class Violation:
    """The rule that refused a message; never carries the message."""

    rule: str
    category: str


@dataclass(frozen=True)
class _Signal:
    """A named set of compiled regexes; matches if any regex does."""

    name: str
    regexes: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class _Rule:
    """One compiled rule; see the module docstring for when it fires."""

    id: str
    category: str
    lang: str
    signals: tuple[_Signal, ...]
    min_signals: int
    unless: tuple[_Signal, ...]


@dataclass(frozen=True)
class Rules:
    """Validated, compiled content rules, in evaluation order."""

    version: str
    rules: tuple[_Rule, ...] = field(repr=False)


def normalize_text(text: str) -> str:
    """Return text in the canonical form that rule patterns are matched on.

    NFKC, casefold, drop Arabic diacritics, tatweel and invisible marks,
    unify alef forms, map ى to ي and ة to ه, map Arabic-Indic and
    Persian digits and ٪ to ASCII, curly apostrophes to ', collapse
    whitespace.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.translate(_FOLD_TABLE).split())


def check_content(text: str, rules: Rules) -> Violation | None:
    """Return the first rule violated by text, or None if it may be sent."""
    if not isinstance(text, str):
        raise TypeError("text must be a str")
    normal = normalize_text(text)
    seen: dict[str, bool] = {}

    def hit(signal: _Signal) -> bool:
        # Signals are shared between rules; evaluate each at most once.
        if signal.name not in seen:
            seen[signal.name] = any(
                rx.search(normal) for rx in signal.regexes)
        return seen[signal.name]

    for rule in rules.rules:
        count = sum(1 for s in rule.signals if hit(s))
        if count >= rule.min_signals and not any(map(hit, rule.unless)):
            return Violation(rule=rule.id, category=rule.category)
    return None


def load_rules(path: str | os.PathLike[str] | None = None) -> Rules:
    """Read, validate and compile a rules file (default: the shipped one).

    Raises ValueError naming the file and the problem, so that a broken
    configuration stops the service at start-up rather than at send time.
    """
    path = os.fspath(path if path is not None else DEFAULT_RULES_PATH)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh, object_pairs_hook=_reject_duplicate_keys)
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"content rules {path}: cannot read: {exc}") from exc
    try:
        return _build_rules(data)
    except ValueError as exc:
        raise ValueError(f"content rules {path}: {exc}") from None


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """Build a JSON object, refusing a key given twice (json keeps last)."""
    keys = [k for k, _ in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    _require(not dupes, f"duplicate key(s): {', '.join(dupes)}")
    return dict(pairs)


def _build_rules(data: object) -> Rules:
    """Turn the parsed JSON document into Rules, or raise ValueError."""
    _require(isinstance(data, dict), "top level must be a JSON object")
    _check_keys(data, _TOP_KEYS, "top level")
    version = data.get("version")
    _require(isinstance(version, (str, int)) and str(version).strip() != "",
             "'version' must be a non-empty string")
    raw_signals = data.get("signals", {})
    _require(isinstance(raw_signals, dict), "'signals' must be an object")
    signals = {name: _build_signal(name, spec)
               for name, spec in raw_signals.items()}
    raw_rules = data.get("rules")
    _require(isinstance(raw_rules, list) and raw_rules,
             "'rules' must be a non-empty list")
    rules = [_build_rule(i, spec, signals) for i, spec in enumerate(raw_rules)]
    ids = [r.id for r in rules]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    _require(not dupes, f"duplicate rule id(s): {', '.join(dupes)}")
    return Rules(version=str(version), rules=tuple(rules))


def _build_signal(name: str, spec: object) -> _Signal:
    """Compile one named signal from its keywords and regex patterns."""
    where = f"signal {name!r}"
    _require(isinstance(spec, dict), f"{where} must be an object")
    _check_keys(spec, _SIGNAL_KEYS, where)
    keywords = _string_list(spec.get("keywords", []), f"{where} keywords")
    patterns = _string_list(spec.get("patterns", []), f"{where} patterns")
    _require(bool(keywords or patterns),
             f"{where} needs at least one keyword or pattern")
    regexes = []
    # Keywords sharing a word-start anchor and prefix go in one
    # alternation, so the anchor is tested once per position, not once
    # per keyword: matching stays fast on long messages.
    groups: dict[str, list[str]] = {}
    for keyword in keywords:
        head, rest = _keyword_regex(keyword, where)
        groups.setdefault(head, []).append(rest)
    for head, rests in groups.items():
        regexes.append(re.compile(f"{head}(?:{'|'.join(rests)})"))
    for pattern in patterns:
        folded = sorted(set(pattern) & _ARABIC_FOLDED)
        _require(not folded,
                 f"{where} pattern {pattern!r} is not in normalised form "
                 f"(contains {''.join(folded)!r})")
        try:
            regexes.append(re.compile(pattern))
        except re.error as exc:
            raise ValueError(
                f"{where} has a bad regex {pattern!r}: {exc}") from None
    return _Signal(name=name, regexes=tuple(regexes))


def _keyword_regex(keyword: str, where: str) -> tuple[str, str]:
    """Return (anchor, rest): regex parts matching keyword as whole words.

    A trailing '*' lets the last word continue ("discount*" matches
    "discounts"); Arabic keywords also accept attached prefixes.
    """
    stem = normalize_text(keyword.rstrip("*"))
    _require(stem != "", f"{where} keyword {keyword!r} is empty")
    tail = r"\w*" if keyword.endswith("*") else ""
    body = re.escape(stem)
    lead = ""
    if "\u0600" <= stem[:1] <= "\u06ff":
        lead = _AR_PREFIX
        if stem.startswith("ال"):
            # ل + ال is written لل: "المجلس" -> "للمجلس".
            body = f"(?:{body}|لل{re.escape(stem[2:])})"
    # Only anchor on word boundaries where the keyword edge is a word
    # character: "% off" must still match inside "20% off".
    start = r"(?<!\w)" if re.match(r"\w", stem) else ""
    end = r"(?!\w)" if tail or re.search(r"\w$", stem) else ""
    return start + lead, body + tail + end


def _build_rule(index: int, spec: object, signals: dict) -> _Rule:
    """Validate one rule entry and resolve its signal names."""
    where = f"rule #{index}"
    _require(isinstance(spec, dict), f"{where} must be an object")
    rule_id = spec.get("id")
    _require(isinstance(rule_id, str) and rule_id.strip() != "",
             f"{where} needs a non-empty string 'id'")
    where = f"rule {rule_id!r}"
    _check_keys(spec, _RULE_KEYS, where)
    category = spec.get("category")
    _require(category in CATEGORIES,
             f"{where} has unknown category {category!r} "
             f"(expected one of {', '.join(sorted(CATEGORIES))})")
    lang = spec.get("lang")
    _require(isinstance(lang, str) and _LANG_RE.fullmatch(lang) is not None,
             f"{where} needs 'lang' like 'en', 'ar' or 'any'")
    used = _string_list(spec.get("signals"), f"{where} signals")
    unless = _string_list(spec.get("unless", []), f"{where} unless")
    _require(bool(used), f"{where} must list at least one signal")
    for name in used + unless:
        _require(name in signals, f"{where} uses unknown signal {name!r}")
    minimum = spec.get("min_signals", 1)
    _require(type(minimum) is int and 1 <= minimum <= len(used),
             f"{where} 'min_signals' must be an integer from 1 to "
             f"{len(used)}")
    return _Rule(id=rule_id, category=category, lang=lang,
                 signals=tuple(signals[n] for n in used),
                 min_signals=minimum,
                 unless=tuple(signals[n] for n in unless))


def _string_list(value: object, where: str) -> list[str]:
    """Return value if it is a list of non-empty strings, else raise."""
    _require(isinstance(value, list)
             and all(isinstance(v, str) and v.strip("* ") for v in value),
             f"{where} must be a list of non-empty strings")
    return value


def _check_keys(obj: dict, allowed: set, where: str) -> None:
    """Reject unknown keys: a typo like 'unles' must not pass silently."""
    unknown = sorted(set(obj) - allowed)
    _require(not unknown, f"{where} has unknown key(s): {', '.join(unknown)}")


def _require(condition: bool, message: str) -> None:
    """Raise ValueError(message) unless condition holds."""
    if not condition:
        raise ValueError(message)
