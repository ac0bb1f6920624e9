"""Train the content policy's linear model: writes content_model.json.

    pip install -e '.[train]'
    python tools/train_content_model.py            # fit, tune, write
    python tools/train_content_model.py --report   # + held-out figures

Reads tests/data/content_messages.json.  Fits on the "train" and "dev"
splits only; cross-validation on them (folds grouped by template, so a
phrasing is never scored by a model that saw it) picks the
regularisation and the refusal threshold: the lowest threshold at which
the rules and the model together keep cross-validated precision >=
CV_PRECISION.  The "test" split (held-out set v2: the templates of
tools/content_templates_heldout.py, frozen before this tuning) is never
looked at unless --report is given, and then only to print the figures
the README quotes.  Uses scikit-learn (a training extra); the runtime
(content_model.py) is pure Python.
"""

import argparse
import datetime
import json
import os
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import content_model  # noqa: E402
import content_policy  # noqa: E402

CORPUS = os.path.join(ROOT, "tests", "data", "content_messages.json")
SIZES = (4,)
MIN_DF = 2
# The target is 0.97 on held-out text; cross-validation keeps a
# small margin above it.
CV_PRECISION = 0.975
FOLDS = 5


def load_items():
    with open(CORPUS, encoding="utf-8") as fh:
        return json.load(fh)["items"]


def vectorise(normals, vocab, found, idf):
    """Rows x_f = idf_f / sqrt(sum idf_g^2) over the distinct known
    features (binary TF-IDF): what content_model.Model.logit computes."""
    from scipy.sparse import csr_matrix
    rows, cols, vals = [], [], []
    for r, normal in enumerate(normals):
        known = [vocab[f] for f in
                 content_model.features(normal, SIZES, found[r])
                 if f in vocab]
        den = sum(idf[j] ** 2 for j in known) ** 0.5 or 1.0
        for j in known:
            rows.append(r)
            cols.append(j)
            vals.append(idf[j] / den)
    return csr_matrix((vals, (rows, cols)), shape=(len(normals), len(vocab)))


def fit(items, rules, c_binary, c_category):
    """Fit the refuse/allow model (and the category model unless
    c_category is None); return the model document."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    normals = [content_policy.normalize_text(i["text"], rules.words)
               for i in items]
    found = [sorted(content_policy.matched_signals(n, rules))
             for n in normals]
    df = Counter()
    for n, f in zip(normals, found):
        df.update(content_model.features(n, SIZES, f).keys())
    names = sorted(f for f, k in df.items() if k >= MIN_DF)
    vocab = {f: j for j, f in enumerate(names)}
    # Smoothed idf, as scikit-learn's TfidfTransformer computes it.
    n = len(items)
    idf = np.log((1 + n) / (1 + np.asarray([df[f] for f in names]))) + 1
    x = vectorise(normals, vocab, found, idf)
    y = [i["label"] == "refuse" for i in items]
    binary = LogisticRegression(C=c_binary, max_iter=2000,
                                class_weight="balanced", solver="liblinear")
    binary.fit(x, y)
    coef = binary.coef_[0]
    features = {f: [round(float(coef[j] * idf[j]), 4),
                    round(float(idf[j] ** 2), 4)]
                for j, f in enumerate(names)}
    classes, cat_bias, cat_weights = [], [], {}
    if c_category is not None:  # None: binary only (cross-validation)
        refused = [k for k, i in enumerate(items) if i["label"] == "refuse"]
        cats = LogisticRegression(C=c_category, max_iter=2000)
        cats.fit(x[refused], [items[k]["category"] for k in refused])
        classes = [str(c) for c in cats.classes_]
        cat_bias = [round(float(b), 4) for b in cats.intercept_]
        ccoef = cats.coef_.T
        for j, f in enumerate(names):
            row = [round(float(w * idf[j]), 3) for w in ccoef[j]]
            if max(map(abs, row)) >= 1e-2:
                cat_weights[f] = row
    return {
        "format": content_model.FORMAT,
        "version": datetime.date.today().isoformat(),
        "description": "Linear content model; see content_model.py. "
                       "Trained by tools/train_content_model.py on the "
                       "train and dev splits of "
                       "tests/data/content_messages.json. features: "
                       "name -> [weight * idf, idf ** 2].",
        "char_ngrams": list(SIZES),
        "bias": round(float(binary.intercept_[0]), 4),
        "threshold": 0.5,
        "features": features,
        "categories": classes,
        "category_bias": cat_bias,
        "category_weights": cat_weights,
        "training": {"messages": len(items), "C": c_binary,
                     "C_category": c_category, "min_df": MIN_DF},
    }


def attach(rules, doc):
    """Rules with this model attached, as content_policy.load_policy."""
    import dataclasses
    model = content_model.Model(doc)
    return dataclasses.replace(rules, model=model,
                               words=rules.words | model.words)


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


def cross_validate(items, rules, c):
    """Out-of-fold refusal probabilities, folds grouped by template."""
    from sklearn.model_selection import GroupKFold
    groups = [i.get("template") or i["text"] for i in items]
    oof = [0.0] * len(items)  # short texts stay 0: the model abstains
    for fit_idx, held_idx in GroupKFold(FOLDS).split(items, groups=groups):
        doc = fit([items[k] for k in fit_idx], rules, c, None)
        model = content_model.Model(doc)
        for k in held_idx:
            normal = content_policy.normalize_text(
                items[k]["text"], rules.words | model.words)
            # As the policy does: the model abstains on short texts and
            # on texts with nothing that pushes towards refusing.
            found = content_policy.matched_signals(normal, rules)
            if content_model.word_count(normal) >= \
                    content_policy.MODEL_MIN_WORDS and \
                    model.signals(normal, found):
                oof[k] = model.probability(normal, found)
    return oof


def choose_threshold(items, fired, oof):
    """Lowest threshold keeping out-of-fold precision >= CV_PRECISION."""
    best = (0.95, 0.0, 0.0)
    for t in [x / 100 for x in range(95, 9, -1)]:
        tp = fp = fn = 0
        for item, rule, p in zip(items, fired, oof):
            refused = rule or p >= t
            expect = item["label"] == "refuse"
            tp += refused and expect
            fp += refused and not expect
            fn += expect and not refused
        precision = tp / (tp + fp) if tp + fp else 1.0
        if precision < CV_PRECISION:
            break
        best = (t, precision, tp / (tp + fn))
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", action="store_true",
                        help="also print held-out (test) figures")
    parser.add_argument("--out", default=content_model.DEFAULT_MODEL_PATH)
    parser.add_argument("--errors", help="write out-of-fold mistakes here")
    args = parser.parse_args(argv)
    items = load_items()
    fit_items = [i for i in items if i["split"] in ("train", "dev")]
    rules = content_policy.load_rules()
    fired = [content_policy.check_content(i["text"], rules) is not None
             for i in fit_items]
    best = None
    for c in (3.0, 10.0, 30.0):
        oof = cross_validate(fit_items, rules, c)
        t, precision, recall = choose_threshold(fit_items, fired, oof)
        print(f"C={c}: threshold {t:.2f} cross-validated precision "
              f"{precision:.3f} recall {recall:.3f}", flush=True)
        if best is None or recall > best[0]:
            best = (recall, c, t, oof)
    _, c, t, oof = best
    if args.errors:
        with open(args.errors, "w", encoding="utf-8") as fh:
            for item, rule, p in zip(fit_items, fired, oof):
                refused = rule or p >= t
                if refused != (item["label"] == "refuse"):
                    fh.write(f"{item['label']}\t{item['category']}\t"
                             f"{'rule' if rule else round(p, 2)}\t"
                             f"{item['text']}\n")
    doc = fit(fit_items, rules, c, 10.0)
    doc["threshold"] = t
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {args.out}: {len(doc['features'])} features, threshold "
          f"{doc['threshold']}, C={doc['training']['C']}")
    if args.report:
        test = [i for i in items if i["split"] == "test"]
        print("\nheld-out (test) split:")
        report(test, attach(rules, doc))


if __name__ == "__main__":
    main()
