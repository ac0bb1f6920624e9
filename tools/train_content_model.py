"""Train the content policy's linear model: writes content_model.json.

    pip install -e '.[train]'
    python tools/train_content_model.py            # fit, tune, write
    python tools/train_content_model.py --report   # + held-out figures

Reads tests/data/content_messages.json.  Fits on the "train" split only;
the "dev" split picks the regularisation and the refusal threshold (the
rules and the model together must keep dev precision >= 0.985); the
"test" split is never looked at unless --report is given, and then only
to print the figures the README quotes.  Uses scikit-learn (a training
extra); the runtime (content_model.py) is pure Python.
"""

import argparse
import datetime
import json
import math
import os
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import content_model  # noqa: E402
import content_policy  # noqa: E402

CORPUS = os.path.join(ROOT, "tests", "data", "content_messages.json")
SIZES = (3, 4)
MIN_DF = 2
DEV_PRECISION = 0.975


def load_items():
    with open(CORPUS, encoding="utf-8") as fh:
        return json.load(fh)["items"]


def vectorise(normals, vocab):
    from scipy.sparse import csr_matrix
    rows, cols, vals = [], [], []
    for r, normal in enumerate(normals):
        counts = content_model.features(normal, SIZES)
        norm = math.sqrt(sum(counts.values()) or 1)
        for f, c in counts.items():
            j = vocab.get(f)
            if j is not None:
                rows.append(r)
                cols.append(j)
                vals.append(c / norm)
    return csr_matrix((vals, (rows, cols)), shape=(len(normals), len(vocab)))


def fit(items, rules, c_binary, c_category):
    from sklearn.linear_model import LogisticRegression
    normals = [content_policy.normalize_text(i["text"], rules.words)
               for i in items]
    df = Counter()
    for n in normals:
        df.update(content_model.features(n, SIZES).keys())
    names = sorted(f for f, k in df.items() if k >= MIN_DF)
    vocab = {f: j for j, f in enumerate(names)}
    x = vectorise(normals, vocab)
    y = [i["label"] == "refuse" for i in items]
    binary = LogisticRegression(C=c_binary, max_iter=2000,
                                class_weight="balanced")
    binary.fit(x, y)
    refused = [k for k, i in enumerate(items) if i["label"] == "refuse"]
    cats = LogisticRegression(C=c_category, max_iter=2000)
    cats.fit(x[refused], [items[k]["category"] for k in refused])
    weights = {f: round(float(w), 4) for f, w in zip(names, binary.coef_[0])
               if abs(w) >= 1e-3}
    cat_weights = {}
    for j, f in enumerate(names):
        row = [round(float(cats.coef_[k][j]), 3)
               for k in range(len(cats.classes_))]
        if max(map(abs, row)) >= 1e-2:
            cat_weights[f] = row
    return {
        "format": content_model.FORMAT,
        "version": datetime.date.today().isoformat(),
        "description": "Linear content model; see content_model.py. "
                       "Trained by tools/train_content_model.py on the "
                       "train split of tests/data/content_messages.json.",
        "char_ngrams": list(SIZES),
        "bias": round(float(binary.intercept_[0]), 4),
        "threshold": 0.5,
        "weights": weights,
        "categories": [str(c) for c in cats.classes_],
        "category_bias": [round(float(b), 4) for b in cats.intercept_],
        "category_weights": cat_weights,
        "training": {"messages": len(items), "C": c_binary,
                     "C_category": c_category, "min_df": MIN_DF},
    }


def attach(rules, doc):
    import dataclasses
    return dataclasses.replace(rules, model=content_model.Model(doc))


def metrics(items, policy, strictness=None):
    """precision/recall of "refuse", category recall and agreement."""
    tp = fp = fn = 0
    cat_hit, cat_n, agree = Counter(), Counter(), 0
    for item in items:
        verdict = content_policy.evaluate(item["text"], policy,
                                          strictness=strictness)
        refuse = item["label"] == "refuse"
        tp += verdict.refused and refuse
        fp += verdict.refused and not refuse
        fn += refuse and not verdict.refused
        if refuse:
            cat_n[item["category"]] += 1
            cat_hit[item["category"]] += verdict.refused
            agree += verdict.refused and verdict.category == item["category"]
    return {
        "messages": len(items),
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "category_agreement": agree / tp if tp else 1.0,
        "category_recall": {c: cat_hit[c] / cat_n[c] for c in sorted(cat_n)},
    }


def tune_threshold(items, rules, doc):
    """Lowest threshold keeping dev precision >= DEV_PRECISION."""
    best = 0.9
    for t in [x / 100 for x in range(90, 9, -2)]:
        doc["threshold"] = t
        m = metrics(items, attach(rules, doc))
        if m["precision"] < DEV_PRECISION:
            break
        best = t
    doc["threshold"] = best
    return best


def report(items, policy):
    by = {}
    by["all"] = metrics(items, policy)
    for lang in ("en", "ar", "mixed", "arabizi"):
        by[lang] = metrics([i for i in items if i["lang"] == lang], policy)
    by["ar (gulf)"] = metrics([i for i in items if i.get("dialect")],
                              policy)
    by["hard"] = metrics([i for i in items if i["hard"]], policy)
    for name, m in by.items():
        print(f"| {name} | {m['messages']} | {m['precision']:.3f} | "
              f"{m['recall']:.3f} |")
    print()
    for cat, r in by["all"]["category_recall"].items():
        print(f"| {cat} | {r:.3f} |")
    print(f"category agreement {by['all']['category_agreement']:.3f}")
    return by


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", action="store_true",
                        help="also print held-out (test) figures")
    parser.add_argument("--out", default=content_model.DEFAULT_MODEL_PATH)
    args = parser.parse_args(argv)
    items = load_items()
    train = [i for i in items if i["split"] == "train"]
    dev = [i for i in items if i["split"] == "dev"]
    rules = content_policy.load_rules()
    best = None
    for c in (3.0, 10.0):
        doc = fit(train, rules, c, 10.0)
        t = tune_threshold(dev, rules, doc)
        m = metrics(dev, attach(rules, doc))
        print(f"C={c}: threshold {t:.2f} dev precision "
              f"{m['precision']:.3f} recall {m['recall']:.3f}")
        ok = m["precision"] >= DEV_PRECISION
        if best is None or (ok, m["recall"]) > best[:2]:
            best = (ok, m["recall"], c, t)
    # Refit on train + dev with the chosen settings: dev has phrasings
    # train lacks; the threshold stays the one dev picked.
    _, _, c, t = best
    doc = fit(train + dev, rules, c, 10.0)
    doc["threshold"] = t
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {args.out}: {len(doc['weights'])} weights, threshold "
          f"{doc['threshold']}, C={doc['training']['C']}")
    if args.report:
        test = [i for i in items if i["split"] == "test"]
        print("\nheld-out (test) split:")
        report(test, attach(rules, doc))


if __name__ == "__main__":
    main()
