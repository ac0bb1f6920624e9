"""The learned layer of the content policy: a small linear text model.

Pure Python, evaluated at send time on the normalised text
(content_policy.normalize_text).  Features are words (" word "), word
bigrams ("word word") and character 4-grams inside each padded word,
which carry Arabic stems under attached prefixes and Arabizi spellings,
the consonant skeleton of each Latin word ("~xsm" for 5asm and khasm),
plus the names of the rule signals that matched ("§en.discount"), so
the model weighs the rules' hand-written evidence with the words.
A message is the set of its known features, each weighted by its
inverse document frequency, scaled to unit length (binary TF-IDF); a
logistic model gives the probability that the message should be
refused and, when it should, a multinomial model gives the category.
tools/train_content_model.py fits both from
tests/data/content_messages.json and writes content_model.json, where
each feature carries (weight x idf, idf^2), so scoring is one look-up
per distinct feature; each word's known features are cached (words
repeat across messages).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass

DEFAULT_MODEL_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "content_model.json")
FORMAT = 2

# Words, and symbols that carry meaning (%, !, emoji); plain
# punctuation is dropped.
_TOKEN_RE = re.compile(r"\w+|[^\w\s.,:;'\"()\-/\\]")
_WORD_RE = re.compile(r"\w+")
SIGNAL = "§"  # prefix of rule-signal features
_READABLE_RE = re.compile(r"[^\W\d_]{3}")
_CACHE_LIMIT = 50_000


# Links: their pieces stay features (a look-alike host is evidence), but
# they are not words, so a bare media or tracking link with a word or two
# is too short for the model to judge (left to the rules).
_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|(?<![\w@])(?:[a-z0-9-]+\.)+(?:com|net|org|info|club|ly|io|me|co|"
    r"sa|ae|qa|kw|om|bh|xyz|link|site|online|app|biz|top|shop)"
    r"(?:/\S*)?(?!\w)")


def tokens(normal: str) -> list[str]:
    """The words of normalised text; all-digit words become "0"."""
    return ["0" if t.isdigit() else t for t in _TOKEN_RE.findall(normal)]


def word_count(normal: str) -> int:
    """How many words (not symbols, not links) normalised text has."""
    return len(_WORD_RE.findall(_URL_RE.sub(" ", normal)))


# Arabizi: digits written for Arabic letters, and digraphs, folded to
# one consonant each, so "5asm", "khasm" and "5assm" share a skeleton.
_ARABIZI_DIGRAPHS = (("kh", "5"), ("gh", "8"), ("sh", "c"), ("ch", "c"),
                     ("th", "t"), ("dh", "d"), ("ou", "u"))
_ARABIZI_FOLD = str.maketrans({"7": "h", "5": "x", "8": "g", "6": "t",
                               "9": "s", "3": None, "2": None, "4": None,
                               "a": None, "e": None, "i": None, "o": None,
                               "u": None, "y": None, "w": None, "q": "k"})
_LATIN_RE = re.compile(r"[a-z0-9]*[a-z][a-z0-9]*")
SKELETON = "~"  # prefix of consonant-skeleton features


def skeleton(token: str) -> str:
    """The consonant skeleton of a Latin word ("" if it has none): what
    Arabizi spellings of one Arabic word have in common."""
    if len(token) < 3 or not _LATIN_RE.fullmatch(token):
        return ""
    for a, b in _ARABIZI_DIGRAPHS:
        token = token.replace(a, b)
    folded = token.translate(_ARABIZI_FOLD)
    out = "".join(c for i, c in enumerate(folded)
                  if i == 0 or c != folded[i - 1])
    return out if len(out) >= 2 else ""


def word_features(token: str, sizes=(4,)) -> list[str]:
    """The features one word contributes: itself, its char n-grams and
    (Latin words) its consonant skeleton."""
    padded = f" {token} "
    out = [padded]
    skel = skeleton(token)
    if skel:
        out.append(SKELETON + skel)
    for n in sizes:
        out.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return out


def features(normal: str, sizes=(4,), signals=()) -> dict[str, int]:
    """Feature counts of normalised text (what training vectorises).

    ``signals``: names of the rule signals that matched (see
    content_policy.matched_signals); each is a feature "§name", so the
    model weighs the rules' hand-written evidence (a discount, an order
    number) together with the words.
    """
    counts: dict[str, int] = {SIGNAL + name: 1 for name in signals}
    toks = tokens(normal)
    for tok in toks:
        for f in word_features(tok, sizes):
            counts[f] = counts.get(f, 0) + 1
    for a, b in zip(toks, toks[1:]):
        f = f"{a} {b}"
        counts[f] = counts.get(f, 0) + 1
    return counts


@dataclass(frozen=True)
class Score:
    """The model's view of one message; never carries the message."""

    probability: float
    signals: tuple[str, ...]  # vocabulary items, strongest first


class Model:
    """A loaded content model; its methods are thread-safe."""

    def __init__(self, doc: dict):
        if doc.get("format") != FORMAT:
            raise ValueError(f"unsupported model format {doc.get('format')!r}")
        self.version = str(doc["version"])
        self.sizes = tuple(doc["char_ngrams"])
        self.bias = float(doc["bias"])
        self.threshold = float(doc["threshold"])
        # feature -> (weight * idf, idf ** 2)
        self.table: dict[str, tuple[float, float]] = {
            f: (v[0], v[1]) for f, v in doc["features"].items()}
        self.categories: tuple[str, ...] = tuple(doc["categories"])
        self.category_bias: list[float] = doc["category_bias"]
        # feature -> per-category weight * idf
        self.category_weights: dict[str, list[float]] = \
            doc["category_weights"]
        # Latin vocabulary, for reading "0ff" as "off" when normalising.
        self.words = frozenset(
            f.strip() for f in self.table
            if f.startswith(" ") and f.endswith(" ") and f.strip().isalpha()
            and f.strip().isascii() and len(f) > 4)
        self._cache: dict[str, tuple[str, ...]] = {}

    def _word(self, tok: str) -> tuple[str, ...]:
        """The word's features that the model knows (cached)."""
        hit = self._cache.get(tok)
        if hit is None:
            table = self.table
            hit = tuple(f for f in word_features(tok, self.sizes)
                        if f in table)
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            self._cache[tok] = hit
        return hit

    def feature_set(self, normal: str, signals=()) -> set[str]:
        """The distinct known features of normalised text (unknown ones
        add nothing to a linear model, nor to the vector's length)."""
        table = self.table
        feats = {f for f in (SIGNAL + name for name in signals)
                 if f in table}
        toks = tokens(normal)
        word = self._word
        for tok in toks:
            feats.update(word(tok))
        for i in range(len(toks) - 1):
            f = f"{toks[i]} {toks[i + 1]}"
            if f in table:
                feats.add(f)
        return feats

    def logit(self, normal: str, signals=()) -> float:
        """The decision value for normalised text (> 0 leans refuse)."""
        num = den = 0.0
        table = self.table
        for f in self.feature_set(normal, signals):
            a, q = table[f]
            num += a
            den += q
        return self.bias + (num / math.sqrt(den) if den else 0.0)

    def probability(self, normal: str, signals=()) -> float:
        """Probability that normalised text should be refused."""
        z = self.logit(normal, signals)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def score(self, normal: str, signals=()) -> Score:
        """Probability of "refuse", with the strongest signals."""
        return Score(self.probability(normal, signals),
                     self.signals(normal, signals))

    def signals(self, normal: str, signals=(), limit: int = 5
                ) -> tuple[str, ...]:
        """Rule signals, words and bigrams that pushed hardest towards
        refusing (vocabulary of the model, never free text)."""
        seen: dict[str, float] = {}
        toks = tokens(normal)
        grams = [SIGNAL + name for name in signals]
        grams += [f" {t} " for t in toks]
        grams += [f"{a} {b}" for a, b in zip(toks, toks[1:])]
        for f in grams:
            hit = self.table.get(f)
            # Rule signals, and words with three letters or more: "a",
            # "!" and "0 %" explain nothing to an operator.
            if hit is not None and hit[0] > 0.05 and (
                    f[0] == SIGNAL or _READABLE_RE.search(f)):
                seen[f.strip().lstrip(SIGNAL)] = hit[0]
        ranked = sorted(seen, key=seen.get, reverse=True)
        return tuple(ranked[:limit])

    def category(self, normal: str, signals=()) -> str:
        """The most likely refusal category for normalised text."""
        scores = list(self.category_bias)
        feats = self.feature_set(normal, signals)
        den = sum(self.table[f][1] for f in feats)
        norm = math.sqrt(den) if den else 1.0
        for f in feats:
            row = self.category_weights.get(f)
            if row:
                for i, w in enumerate(row):
                    scores[i] += w / norm
        return self.categories[scores.index(max(scores))]


def load_model(path: str | os.PathLike[str] | None = None) -> Model:
    """Read a model file (default: the shipped content_model.json).

    Raises ValueError naming the file, so a broken model stops start-up.
    """
    path = os.fspath(path if path is not None else DEFAULT_MODEL_PATH)
    try:
        with open(path, encoding="utf-8") as fh:
            return Model(json.load(fh))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"content model {path}: {exc}") from None
