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
Rules are tried in file order; the first one that fires wins.  A
rule's ``unless`` signals (transactional markers such as order numbers)
only ever cancel that rule: "strong" rules have none, so an order
reference never cancels a promo code with a deadline.

``evaluate()`` is the two-layer check the send path uses: the rules,
then (when a model is attached by ``load_policy()``) the learned linear
model of content_model.py, with per-customer allow phrases and
strictness.  It returns a ``Verdict`` that names the rule or the
model's category, a risk score from 0 to 100 and the strongest signals
(signal names and model vocabulary, never the message).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field

import content_model

DEFAULT_RULES_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "content_rules.json")

CATEGORIES = frozenset({"marketing", "promotion", "cold_outreach",
                        "bulk_campaign", "political", "scam_phishing",
                        "gambling"})
STRICTNESS = ("relaxed", "standard", "strict")

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
# Persian/Urdu keyboard letters and Gulf spellings of borrowed sounds.
_FOLD.update({ord("ک"): "ك", ord("ی"): "ي", ord("ۍ"): "ي", ord("ې"): "ي",
              ord("ە"): "ه", ord("ۀ"): "ه", ord("ڤ"): "ف", ord("گ"): "ك",
              ord("چ"): "ج", ord("پ"): "ب", ord("٫"): ".", ord("٬"): ",",
              ord("،"): ",", ord("؛"): ";", ord("؟"): "?"})
# Phone keyboards type curly apostrophes: "don’t" must match "don't".
_FOLD.update(dict.fromkeys([0x2018, 0x2019, 0x02BC], "'"))
# Tatweel, superscript alef, Arabic letter mark, BOM.
_FOLD.update(dict.fromkeys([0x0640, 0x0670, 0x061C, 0xFEFF]))
_FOLD.update(dict.fromkeys(range(0x064B, 0x0660)))  # harakat
_FOLD.update(dict.fromkeys(range(0x200B, 0x2010)))  # zero-width, LRM/RLM
_FOLD.update(dict.fromkeys(range(0x202A, 0x202F)))  # bidi embeddings
_FOLD.update(dict.fromkeys(range(0x2066, 0x206A)))  # bidi isolates
_FOLD.update(dict.fromkeys(range(0x2060, 0x2065)))  # word joiner etc.
_FOLD.update(dict.fromkeys([0x00AD, 0x034F, 0x180E, 0x115F, 0x1160,
                            0x3164, 0xFFA0]))  # soft hyphen, fillers
_FOLD.update(dict.fromkeys(range(0x0300, 0x0370)))  # Latin accents
_FOLD.update(dict.fromkeys(range(0xFE00, 0xFE10)))  # variation selectors
# Latin letters with accents (NFKC keeps "é"): fold to the bare letter.
for _c in range(0xC0, 0x250):
    _bare = "".join(ch for ch in unicodedata.normalize("NFKD", chr(_c))
                    if not unicodedata.combining(ch))
    if _bare.isascii() and _bare.isalpha() and _bare != chr(_c):
        _FOLD[_c] = _bare.lower()
for _i in range(10):
    _FOLD[0x0660 + _i] = str(_i)  # Arabic-Indic digits
    _FOLD[0x06F0 + _i] = str(_i)  # Persian (Extended Arabic-Indic)
_FOLD_TABLE = str.maketrans(_FOLD)
# Cyrillic and Greek letters that look like Latin ones; only folded in
# words made of Latin letters and these (see _fold_lookalikes), so real
# Russian or Greek text is left alone.
_LOOKALIKE = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h",
    "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i",
    "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ү": "y",
    "һ": "h", "ɡ": "g", "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k",
    "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
    "η": "n", "μ": "u", "ѵ": "v", "ӏ": "l"})
_LOOKALIKE_CHARS = "".join(chr(c) for c in _LOOKALIKE)
_CYR_GREEK_RE = re.compile(r"[\u0370-\u03ff\u0400-\u052f\u0261]")
_LOOKALIKE_WORD_RE = re.compile(
    rf"[a-z{_LOOKALIKE_CHARS}]*[{_LOOKALIKE_CHARS}][a-z{_LOOKALIKE_CHARS}]*")
# Letters spelled out with a separator: "s.a.l.e", "f-r-e-e", "s a l e".
_SPACED_RE = re.compile(r"(?<!\w)\w([.\-_*·•|/+~ ])\w(?:\1\w)+(?!\w)")
# A word mixing letters with digits or @/$ ("0ff", "fr33", "7O%").
_MIXED_RE = re.compile(
    r"(?<![a-z0-9@$])(?:[a-z@$]+\d|\d+[a-z@$])[a-z0-9@$]*")
# Numbers longer than any real one are cut (a 3,000-digit run or
# "1,1,1,..." made some rule regexes backtrack quadratically).
_LONG_DIGITS_RE = re.compile(r"(\d[\d,.]{19})[\d,.]+")
_LEET = str.maketrans("013457@$98", "oleastasgb")
_LEET_I = str.maketrans("1", "i")
_DIGITS_FROM = str.maketrans("oli", "011")
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
    regexes: tuple  # of compiled or lazy regexes (.search)
    gated: tuple = ()  # ((literals, regex), ...)

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
    """Validated, compiled content rules, in evaluation order.

    ``index`` maps each 3-character prefix of a signal's literals to the
    (signal, literal, regex) triples it gates, so one pass over the
    text's 3-grams finds the few regexes worth running (see
    matched_signals); ``always`` holds the regexes without a usable
    literal.  ``words`` is the Latin vocabulary of the keywords, used to
    read "0ff" as "off".  ``model`` is the learned layer, when attached.
    """

    version: str
    rules: tuple[_Rule, ...] = field(repr=False)
    index: dict = field(default_factory=dict, repr=False, compare=False)
    always: tuple = field(default=(), repr=False, compare=False)
    words: frozenset = field(default=frozenset(), repr=False,
                             compare=False)
    model: object = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Verdict:
    """What the two-layer check decided; never carries the message.

    ``rule`` is the rule id, or "model" when only the model refused;
    ``category`` its category (None when allowed); ``risk_score`` 0-100;
    ``signals`` the strongest signals (rule signal names and model
    vocabulary, strongest first); ``model_score`` the model's own 0-100
    score (None without a model).
    """

    refused: bool
    rule: str | None
    category: str | None
    risk_score: int
    signals: tuple[str, ...]
    model_score: int | None
    strictness: str

    def details(self) -> dict:
        """The fields a refusal or a dry run reports."""
        out = {"rule": self.rule, "category": self.category,
               "risk_score": self.risk_score,
               "signals": list(self.signals),
               "strictness": self.strictness}
        if self.model_score is not None:
            out["model_score"] = self.model_score
        return out


def normalize_text(text: str, words: frozenset = frozenset()) -> str:
    """Return text in the canonical form that rules and model match on.

    NFKC, casefold, drop Arabic diacritics, tatweel, invisible marks and
    Latin accents, unify alef forms, map ى to ي, ة to ه and Persian
    letters to Arabic ones, map Arabic-Indic and Persian digits and ٪ to
    ASCII, curly apostrophes to ', collapse whitespace, cut numbers
    to 20 characters.  Then undo the
    tricks that hide a word: Cyrillic/Greek look-alike letters,
    separators between single letters ("S.A.L.E" -> "sale"), and digits
    standing in for letters or letters for digits ("0ff", "7O%"): a
    mixed word becomes a number when it is mostly digits, and becomes
    letters when that spells one of ``words`` (the rules' and model's
    vocabulary), so Arabizi ("3ard", "7abibi") keeps its digits.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = " ".join(text.translate(_FOLD_TABLE).split())
    if _LONG_DIGITS_RE.search(text):
        text = _LONG_DIGITS_RE.sub(r"\1", text)
    if not text.isascii() and _CYR_GREEK_RE.search(text):
        text = _LOOKALIKE_WORD_RE.sub(_fold_lookalikes, text)
    if _SPACED_RE.search(text):
        text = _SPACED_RE.sub(lambda m: m.group(0).replace(m.group(1), ""),
                              text)
    if _MIXED_RE.search(text):
        text = _MIXED_RE.sub(lambda m: _unmix(m.group(0), words), text)
    return text


def _fold_lookalikes(match: re.Match) -> str:
    """A word of Latin and look-alike letters, in Latin letters."""
    return match.group(0).translate(_LOOKALIKE)


def _unmix(word: str, words: frozenset) -> str:
    """Read a word mixing letters and digits as its author meant it."""
    digits = sum(ch.isdigit() for ch in word)
    if digits * 2 >= len(word) and set(word) <= set("0123456789oli"):
        return word.translate(_DIGITS_FROM)  # "7o" -> "70"
    for guess in (word.translate(_LEET), word.translate(_LEET_I)
                  .translate(_LEET)):
        if guess in words:
            return guess
    return word


def check_content(text: str, rules: Rules) -> Violation | None:
    """Return the first rule violated by text, or None if it may be sent.

    The rules alone; evaluate() adds the model and customer settings.
    """
    if not isinstance(text, str):
        raise TypeError("text must be a str")
    fired = _first_rule(matched_signals(normalize_text(text, rules.words),
                                        rules), rules)
    return None if fired is None else Violation(rule=fired.id,
                                                category=fired.category)


def matched_signals(normal: str, rules: Rules) -> set[str]:
    """Names of the signals whose keywords or patterns match normal.

    Exactly what each signal's own search() says, computed in one pass:
    a gated regex can only match where its literal occurs, and a literal
    can only occur where its first three characters do.
    """
    found: set[str] = set()
    index = rules.index
    for i in {normal[i:i + 3] for i in range(len(normal) - 2)}:
        for name, literal, regex in index.get(i, ()):
            if name not in found and literal in normal \
                    and regex.search(normal):
                found.add(name)
    for name, literal, regex in rules.always:
        if name not in found and (not literal or literal in normal) \
                and regex.search(normal):
            found.add(name)
    return found


def _first_rule(found: set[str], rules: Rules) -> _Rule | None:
    """The first rule that fires given the matched signal names."""
    for rule in rules.rules:
        count = sum(1 for s in rule.signals if s.name in found)
        if count >= rule.min_signals and \
                not any(s.name in found for s in rule.unless):
            return rule
    return None


# Model thresholds per strictness (probability of "refuse"); "standard"
# comes from the model file (tuned on the dev split), the others are
# placed around it.
_STRICTNESS_SHIFT = {"relaxed": 0.25, "standard": 0.0, "strict": -0.2}
# A rule refusal is explainable and deliberate: its risk is at least
# this, whatever the model thinks.
_RULE_RISK = 85
# Shorter texts ("Done.", "Welcome back!", "We'll check and get back to
# you") are left to the rules: too few words for the model to judge.
MODEL_MIN_WORDS = 5


def evaluate(text: str, rules: Rules, allow_phrases=(),
             strictness: str | None = None, explain: bool = False
             ) -> Verdict:
    """Decide whether text may be sent: rules first, then the model.

    allow_phrases: a customer's phrases (its name, a product) that are
    removed from the text before checking, so "Mega Sale Furniture"
    signing a delivery notice trips nothing.  strictness: "relaxed",
    "standard" (default) or "strict" moves the model's threshold; the
    rules apply at every level.  Transactional markers lower the model's
    score (they are features like any other) and cancel only weak rules.
    Signals are worked out for refusals, and for allowed text only with
    ``explain`` (dry runs, the CLI): the common case stays cheap.
    """
    if not isinstance(text, str):
        raise TypeError("text must be a str")
    strictness = strictness or "standard"
    if strictness not in _STRICTNESS_SHIFT:
        raise ValueError(f"strictness must be one of {STRICTNESS}")
    model = rules.model
    words = rules.words  # with the model's vocabulary (load_policy)
    normal = normalize_text(text, words)
    for phrase in allow_phrases or ():
        folded = normalize_text(phrase, words)
        if folded:
            normal = " ".join(normal.replace(folded, " ").split())
    found = matched_signals(normal, rules)
    fired = _first_rule(found, rules)
    if model is None:
        if fired is None:
            return Verdict(False, None, None, 0, (), None, strictness)
        signals = tuple(s.name for s in fired.signals if s.name in found)
        return Verdict(True, fired.id, fired.category, _RULE_RISK,
                       signals, None, strictness)
    probability = model.probability(normal, found)
    model_risk = round(100 * probability)
    if fired is not None:
        signals = tuple(s.name for s in fired.signals if s.name in found)
        signals += tuple(x for x in model.signals(normal, found)
                         if x not in signals)
        return Verdict(True, fired.id, fired.category,
                       max(_RULE_RISK, model_risk), signals[:5],
                       model_risk, strictness)
    threshold = min(0.95, max(0.05, model.threshold
                              + _STRICTNESS_SHIFT[strictness]))
    if probability >= threshold:
        # The model alone refuses only what it can explain: some words
        # that push towards refusing, in a text long enough to judge.
        signals = model.signals(normal, found)
        if signals and content_model.word_count(normal) >= MODEL_MIN_WORDS:
            return Verdict(True, "model", model.category(normal, found),
                           model_risk, signals, model_risk, strictness)
    return Verdict(False, None, None, model_risk,
                   model.signals(normal, found) if explain else (),
                   model_risk, strictness)


def load_policy(path=None, model_path=None) -> Rules:
    """The rules with the learned model attached (the send path's form).

    model_path: None or "" for the shipped content_model.json, "off" for
    rules only.
    """
    rules = load_rules(path)
    if model_path == "off":
        return rules
    model_path = model_path or None
    model = content_model.load_model(model_path)
    return dataclasses.replace(rules, model=model,
                               words=rules.words | model.words)


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
    index: dict[str, list] = {}
    always = []
    for signal in signals.values():
        for literals, regex in signal.gated:
            for literal in literals:
                if len(literal) >= 3:
                    index.setdefault(literal[:3], []).append(
                        (signal.name, literal, regex))
                else:
                    always.append((signal.name, literal, regex))
        always.extend((signal.name, "", rx) for rx in signal.regexes)
    words = frozenset(w for spec in raw_signals.values()
                      for k in spec.get("keywords", [])
                      for w in re.findall(r"[a-z]+", normalize_text(k)))
    return Rules(version=str(version), rules=tuple(rules),
                 index={k: tuple(v) for k, v in index.items()},
                 always=tuple(always), words=words)


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


class _LazyRegex:
    """A regex compiled on its first search.

    A rules file compiles into about 1,500 regexes, most of which a
    given message never needs (their literal is absent); compiling them
    all cost each gunicorn worker over 100 ms of CPU at boot.  Every
    pattern is still compiled once at load to validate it; keywords are
    escaped text, always valid.
    """

    __slots__ = ("source", "_compiled")

    def __init__(self, source: str):
        self.source = source
        self._compiled = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _LazyRegex) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def search(self, text: str):
        compiled = self._compiled
        if compiled is None:  # a race only compiles twice
            compiled = self._compiled = re.compile(self.source)
        return compiled.search(text)


def _alternation(sources: list[str]) -> _LazyRegex:
    """One regex matching wherever any of sources does."""
    return _LazyRegex("|".join(f"(?:{s})" for s in sources))


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
