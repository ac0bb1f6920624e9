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

# How a pattern may start before its required literal text: zero-width
# anchors, an optional one-character class, then maybe a group of plain
# alternatives (not followed by a quantifier).  See _pattern_literals().
_PLAIN = r"[^\\()\[\]{}|.^$*+?]+"
_HEAD_RE = re.compile(
    r"(?:\^|\\b|\(\?<!\\w\))*(?:\[[^\]\\]*\]\?)?"
    rf"(?:\(\?:(?P<alts>{_PLAIN}(?:\|{_PLAIN})*)\)(?![?*{{]))?")
# A user pattern with capture groups (which backreferences or group
# numbering may rely on) or inline flags is compiled on its own rather
# than merged into its signal's single alternation.
_SOLO_RE = re.compile(r"\(\?[aiLmsux-]|\(\?P[<=]|\\\d")


@dataclass(frozen=True)
class Violation:
    """The rule that refused a message; never carries the message."""

    rule: str
    category: str


@dataclass(frozen=True)
class _Signal:
    """A named set of compiled regexes; matches if any regex does.

    ``gated`` pairs a regex with literals of which at least one must
    occur in the text for that regex to be able to match; the regex is
    only run when one does (a fast substring test).  This is purely an
    optimisation: the signal matches exactly when one of its keywords or
    patterns does.
    """

    name: str
    regexes: tuple[re.Pattern[str], ...]
    gated: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = ()

    def search(self, normal: str) -> bool:
        """Whether any keyword or pattern matches the normalised text."""
        for literals, regex in self.gated:
            for literal in literals:
                if literal in normal:
                    if regex.search(normal):
                        return True
                    break
        return any(rx.search(normal) for rx in self.regexes)


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
        found = seen.get(signal.name)
        if found is None:
            found = seen[signal.name] = signal.search(normal)
        return found

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
    # Each keyword or pattern becomes (literals, regex source): every
    # match contains one of the literals (() if none are known).
    gated: list[tuple[tuple[str, ...], str]] = []
    ungated: list[tuple[tuple[str, ...], str]] = []
    for keyword in keywords:
        head, rest = _keyword_regex(keyword, where)
        literal = _keyword_literal(keyword)
        (gated if literal else ungated).append(
            ((literal,) if literal else (), head + rest))
    alone = []  # patterns that cannot share an alternation
    for pattern in patterns:
        folded = sorted(set(pattern) & _ARABIC_FOLDED)
        _require(not folded,
                 f"{where} pattern {pattern!r} is not in normalised form "
                 f"(contains {''.join(folded)!r})")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                f"{where} has a bad regex {pattern!r}: {exc}") from None
        if compiled.groups or _SOLO_RE.search(pattern):
            alone.append(compiled)  # backreferences, inline flags
            continue
        literals = _pattern_literals(pattern)
        (gated if literals else ungated).append((literals, pattern))
    # Matching is sped up without changing what matches: a regex is only
    # searched when its literal occurs in the text (a fast substring
    # test; most messages contain few of them), and alternatives without
    # a literal share one alternation that is always searched.
    by_literals: dict[tuple[str, ...], list[str]] = {}
    for literals, source in gated:
        by_literals.setdefault(literals, []).append(source)
    gates = tuple((literals, _alternation(sources))
                  for literals, sources in by_literals.items())
    regexes = [_alternation([s for _, s in ungated])] if ungated else []
    return _Signal(name=name, regexes=tuple(regexes + alone), gated=gates)


def _alternation(sources: list[str]) -> re.Pattern[str]:
    """Compile sources into one regex matching wherever any one does."""
    return re.compile("|".join(f"(?:{s})" for s in sources))


def _keyword_literal(keyword: str) -> str:
    """A substring every match of keyword contains (see _keyword_regex)."""
    stem = normalize_text(keyword.rstrip("*"))
    if "\u0600" <= stem[:1] <= "\u06ff" and stem.startswith("ال"):
        return stem[2:]  # may be written لل + the rest; "" = no literal
    return stem


def _pattern_literals(pattern: str) -> tuple[str, ...]:
    """Literals one of which every match of pattern contains, or ().

    Only the simple, common shapes are recognised, after optional
    leading anchors and an optional one-character class ("[وف]?"):
    plain characters ("hop on a "), or a group of plain alternatives
    ("(?:ارسل|شارك) ...").  Anything else gives () (always searched).
    """
    if _top_level_bar(pattern):
        return ()
    head = _HEAD_RE.match(pattern)
    if head.group("alts") is not None:
        alts = tuple(head.group("alts").split("|"))
        return alts if min(map(len, alts)) >= 2 else ()
    literal = _plain_prefix(pattern, head.end())
    return (literal,) if len(literal) >= 3 else ()


def _plain_prefix(pattern: str, i: int) -> str:
    """The literal text pattern[i:] must start with (maybe "")."""
    out: list[str] = []
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and \
                not pattern[i + 1].isalnum():
            ch, step = pattern[i + 1], 2
        elif ch in ".^$*+?{}[]()|\\":
            break
        else:
            step = 1
        if pattern[i + step:i + step + 1] in ("?", "*", "{"):
            break  # this character is optional
        out.append(ch)
        i += step
    return "".join(out)


def _top_level_bar(pattern: str) -> bool:
    """Whether pattern has a '|' outside any group or character class."""
    depth, i, in_class = 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            # A ']' first in the class ("[]x]", "[^]x]") is a literal.
            if pattern[i + 1:i + 2] == "^":
                i += 1
            if pattern[i + 1:i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
        i += 1
    return False


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
