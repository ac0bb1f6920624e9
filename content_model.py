"""The learned layer of the content policy: a small linear text model.

Pure Python, evaluated at send time on the normalised text
(content_policy.normalize_text).  Features are words (" word "), word
bigrams ("word word") and character 3- and 4-grams inside each padded
word, which carry Arabic stems under attached prefixes and Arabizi
spellings.  A message's feature counts are divided by the square root of
its total count, then a logistic model gives the probability that the
message should be refused and, when it should, a multinomial model
gives the category.  tools/train_content_model.py fits both from
tests/data/content_messages.json and writes content_model.json.

Per-word sums are cached (words repeat across messages), so scoring an
allowed message costs about one dictionary look-up per word and bigram.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass

DEFAULT_MODEL_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "content_model.json")
FORMAT = 1

# Words, and symbols that carry meaning (%, !, emoji); plain
# punctuation is dropped.
_TOKEN_RE = re.compile(r"\w+|[^\w\s.,:;'\"()\-/\\]")
_CACHE_LIMIT = 50_000


def tokens(normal: str) -> list[str]:
    """The words of normalised text; all-digit words become "0"."""
    return ["0" if t.isdigit() else t for t in _TOKEN_RE.findall(normal)]


def word_features(token: str, sizes=(3, 4)) -> list[str]:
    """The features one word contributes: itself and its char n-grams."""
    padded = f" {token} "
    out = [padded]
    for n in sizes:
        out.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return out


def features(normal: str, sizes=(3, 4)) -> dict[str, int]:
    """Feature counts of normalised text (what training vectorises)."""
    counts: dict[str, int] = {}
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

    def __bool__(self) -> bool:
        return True


class Model:
    """A loaded content model; score() and category() are thread-safe."""

    def __init__(self, doc: dict):
        if doc.get("format") != FORMAT:
            raise ValueError(f"unsupported model format {doc.get('format')!r}")
        self.version = str(doc["version"])
        self.sizes = tuple(doc["char_ngrams"])
        self.bias = float(doc["bias"])
        self.threshold = float(doc["threshold"])
        self.weights: dict[str, float] = doc["weights"]
        self.categories: tuple[str, ...] = tuple(doc["categories"])
        self.category_bias: list[float] = doc["category_bias"]
        self.category_weights: dict[str, list[float]] = \
            doc["category_weights"]
        # Latin vocabulary, for reading "0ff" as "off" when normalising.
        self.words = frozenset(
            f.strip() for f in self.weights
            if f.startswith(" ") and f.endswith(" ") and f.strip().isalpha()
            and f.strip().isascii() and len(f) > 4)
        self._cache: dict[str, tuple[float, int]] = {}

    def _word(self, tok: str) -> tuple[float, int]:
        hit = self._cache.get(tok)
        if hit is None:
            feats = word_features(tok, self.sizes)
            get = self.weights.get
            hit = (sum(get(f, 0.0) for f in feats), len(feats))
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            self._cache[tok] = hit
        return hit

    def logit(self, normal: str) -> float:
        """The decision value for normalised text (> 0 leans refuse)."""
        toks = tokens(normal)
        if not toks:
            return self.bias
        total = 0.0
        count = len(toks) - 1  # bigrams
        word = self._word
        for tok in toks:
            s, n = word(tok)
            total += s
            count += n
        get = self.weights.get
        for i in range(len(toks) - 1):
            total += get(f"{toks[i]} {toks[i + 1]}", 0.0)
        return self.bias + total / math.sqrt(count)

    def score(self, normal: str) -> Score:
        """Probability of "refuse", with the strongest signals."""
        z = self.logit(normal)
        p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
        return Score(p, self.signals(normal))

    def signals(self, normal: str, limit: int = 5) -> tuple[str, ...]:
        """Words and bigrams that pushed hardest towards refusing."""
        seen: dict[str, float] = {}
        toks = tokens(normal)
        grams = [f" {t} " for t in toks]
        grams += [f"{a} {b}" for a, b in zip(toks, toks[1:])]
        for f in grams:
            w = self.weights.get(f, 0.0)
            if w > 0.05:
                seen[f.strip()] = w
        ranked = sorted(seen, key=seen.get, reverse=True)
        return tuple(ranked[:limit])

    def category(self, normal: str) -> str:
        """The most likely refusal category for normalised text."""
        scores = list(self.category_bias)
        counts = features(normal, self.sizes)
        norm = math.sqrt(sum(counts.values()) or 1)
        for f, c in counts.items():
            row = self.category_weights.get(f)
            if row:
                for i, w in enumerate(row):
                    scores[i] += w * c / norm
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
