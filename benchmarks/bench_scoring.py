"""Scoring benchmark: training time and scoring-with-reasons throughput vs plain LogisticRegression, and
(with ``--leads PATH``) validation AUC on the public X Education "Leads.csv" vs a one-hot LogisticRegression:
the margin on the newest 20 % with a paired-bootstrap interval, and the same comparison on four forward slices of
the training part (each model trained on the older leads), which shows how much the margin varies by time slice.

``python -m benchmarks.bench_scoring [--records N] [--leads PATH]``. The data set is not in the repository;
docs/scoring.md says where to get it and which of its columns are excluded as post-outcome.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from analytics.scoring.explain import explain_rows
from analytics.scoring.mapping import parse_mapping
from analytics.scoring.parsing import parse_records
from analytics.scoring.records import ScoringRecord
from analytics.scoring.training import TrainedModel, TrainingConfig, closed_in_window, train

NOW = datetime(2026, 11, 1, tzinfo=UTC)
# Filled in by sales after contact, or the last state at export time: known only after the outcome.
# "Do Not Email" / "Do Not Call" are the contact's opt-out state at export time, set by the sales process:
# 371 of the 734 "Do Not Email = Yes" leads have a bounced, unsubscribed or spam-marked email as their last
# activity (311 of the 326 bounces), its share grows with a lead's age (11 % of the oldest fifth, 4 % of the
# newest), and both "Do Not Call = Yes" leads converted (docs/scoring.md).
POST_OUTCOME = ("Tags", "Lead Quality", "Lead Profile", "Last Activity", "Last Notable Activity",
                "Asymmetrique Activity Index", "Asymmetrique Profile Index", "Asymmetrique Activity Score",
                "Asymmetrique Profile Score", "Do Not Email", "Do Not Call")
NUMERIC = ("TotalVisits", "Total Time Spent on Website", "Page Views Per Visit")
UNUSED = ("Prospect ID", "Lead Number", "Converted", "Created", "Closed", "")
# Forward slices of the training part (as fractions of it) for the train-only comparison with the baseline.
FORWARD_SLICES = ((0.5, 0.625), (0.625, 0.75), (0.75, 0.875), (0.875, 1.0))


def synthetic(n: int, seed: int = 0) -> list[ScoringRecord]:
    """``n`` closed leads over two years with categorical, numeric and missing values."""
    rng = random.Random(seed)
    industries = [f"ind{i}" for i in range(12)]
    effect = {k: rng.gauss(0, 0.8) for k in industries}
    out = []
    for i in range(n):
        created = NOW - timedelta(days=700) + timedelta(seconds=690 * 86400 * i / n)
        industry = rng.choice(industries)
        visits = rng.expovariate(0.2)
        free = rng.random() < 0.3
        z = effect[industry] - 0.9 * free + 0.1 * min(visits, 20) - 0.5
        label = int(rng.random() < 1 / (1 + math.exp(-z)))
        out.append(ScoringRecord(
            f"L{i}", created, label, closed_at=created + timedelta(days=5), owner=f"rep{i % 20}",
            fields={"industry": industry, "visits": visits if rng.random() > 0.05 else None,
                    "source": rng.choice("abcdef"), "country": rng.choice("UVWXYZ")},
            contact_email=f"x{i}@{'gmail.com' if free else 'corp.com'}", contact_name="Ada Lovelace"))
    return out


def plain_matrix(records: list[ScoringRecord]) -> tuple[np.ndarray, np.ndarray]:
    """One-hot + numeric matrix of the same fields for the plain LogisticRegression baseline."""
    cats = [[str(r.fields["industry"]), str(r.fields["source"]), str(r.fields["country"]), str(r.owner),
             (r.contact_email or "").rsplit("@", 1)[1]] for r in records]
    onehot = OneHotEncoder(handle_unknown="ignore").fit_transform(cats)
    visits = np.array([[float(r.fields["visits"] or 0.0)] for r in records])
    X = sparse.hstack([onehot, StandardScaler().fit_transform(visits)]).tocsr()
    return X, np.array([r.label for r in records])


def bench_speed(n: int) -> None:
    records = synthetic(n)
    started, cpu = time.perf_counter(), time.process_time()
    model = train(records, "lead", NOW, TrainingConfig())
    ours_train, ours_cpu = time.perf_counter() - started, time.process_time() - cpu
    X, y = plain_matrix(records)
    started, cpu = time.perf_counter(), time.process_time()
    plain = LogisticRegression(max_iter=1000).fit(X, y)
    plain_train, plain_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    Xs = model.builder.transform(records)
    base, contrib = model.estimator.explain(Xs)
    explanations = explain_rows(model.builder, Xs, base, contrib, "lead")
    ours_score = time.perf_counter() - started
    started = time.perf_counter()
    plain.predict_proba(X)
    plain_score = time.perf_counter() - started
    # CPU seconds beside wall seconds: on a shared machine the wall time of a sub-second fit is mostly waiting.
    print(f"training on {n:,} records: ours {ours_train:.1f} s wall / {ours_cpu:.1f} s CPU ({model.algorithm} "
          f"kept of {', '.join(model.metrics['candidates'])}, calibrated, validated) vs plain LogisticRegression "
          f"fit {plain_train:.2f} s wall / {plain_cpu:.2f} s CPU (ratio {ours_train / plain_train:.0f}x wall, "
          f"{ours_cpu / plain_cpu:.0f}x CPU)")
    print(f"scoring with reasons: {n / ours_score:,.0f} records/s ({len(explanations):,} explained) vs plain "
          f"predict_proba {n / plain_score:,.0f} records/s (ours {ours_score / plain_score:,.0f}x slower)")


def leads_mapping(columns: list[str]) -> str:
    """The mapping of Leads.csv: every column mapped, post-outcome ones marked."""
    lines = ['record_type = "lead"', "[record]", 'id = "Prospect ID"', 'created_at = "Created"',
             'closed_at = "Closed"', "[label]", 'column = "Converted"', 'positive = ["1"]', 'negative = ["0"]',
             "open = []"]
    top = ['ignore = ["Lead Number"]']
    for c in columns:
        if c in UNUSED:
            continue
        key = "".join(ch if ch.isalnum() else "_" for ch in c.lower())
        lines.append(f'[fields.{key}]\ncolumn = "{c}"\nkind = "{"number" if c in NUMERIC else "category"}"\n'
                     f"post_outcome = {'true' if c in POST_OUTCOME else 'false'}")
    return "\n".join(top + lines)


def _leads_rows(path: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    rows.sort(key=lambda r: int(r["Lead Number"]))  # lead numbers grow with time: the only order the data has
    rows = [{k: v for k, v in r.items() if k} for r in rows]
    start = NOW - timedelta(days=700)
    for i, r in enumerate(rows):  # spread over the window in lead-number order (the file has no dates)
        r["Created"] = (start + timedelta(hours=1.5 * i)).isoformat()
        r["Closed"] = (start + timedelta(hours=1.5 * i + 48)).isoformat()
    return rows


def _baseline_decisions(train_rows: list[dict[str, str]], test_rows: list[dict[str, str]]) -> np.ndarray:
    """The baseline: scikit-learn's LogisticRegression on one-hot categories + standardised numbers (missing
    numbers as 0), fitted on ``train_rows`` with default settings; its decision values on ``test_rows``."""
    used = [c for c in train_rows[0] if c not in UNUSED and c not in POST_OUTCOME]
    cat_cols = [c for c in used if c not in NUMERIC]
    enc = OneHotEncoder(handle_unknown="ignore").fit([[r[c] for c in cat_cols] for r in train_rows])

    def num(rs: list[dict[str, str]]) -> np.ndarray:
        return np.array([[float(r[c]) if r[c] else 0.0 for c in NUMERIC] for r in rs])

    scaler = StandardScaler().fit(num(train_rows))

    def matrix(rs: list[dict[str, str]]) -> sparse.csr_matrix:
        return sparse.hstack([enc.transform([[r[c] for c in cat_cols] for r in rs]),
                              scaler.transform(num(rs))]).tocsr()

    baseline = LogisticRegression(max_iter=2000).fit(matrix(train_rows), [int(r["Converted"]) for r in train_rows])
    out: np.ndarray = baseline.decision_function(matrix(test_rows))
    return out


def _paired_bootstrap(y: np.ndarray, ours: np.ndarray, theirs: np.ndarray, rounds: int = 1000) -> tuple[float, float]:
    """95 % interval of AUC(ours) − AUC(theirs) over records resampled with replacement (same rows for both)."""
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(rounds):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            diffs.append(roc_auc_score(y[i], ours[i]) - roc_auc_score(y[i], theirs[i]))
    low, high = np.quantile(diffs, [0.025, 0.975])
    return float(low), float(high)


def bench_leads(path: Path) -> None:
    rows = _leads_rows(path)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    parsed = parse_records(buf.getvalue(), parse_mapping(leads_mapping(list(rows[0]))), "csv")
    assert not parsed.problems, parsed.problems[:3]
    records = [ScoringRecord(r.record_id, r.created_at, 1 if r.outcome == "positive" else 0, closed_at=r.closed_at,
                             fields=r.fields) for r in parsed.records]
    now = NOW - timedelta(days=700) + timedelta(hours=1.5 * len(rows) + 72)
    by_id = {r["Prospect ID"]: r for r in rows}
    closed = closed_in_window(records, now, TrainingConfig())

    def versus_baseline(part: list[ScoringRecord], share: float) -> tuple[TrainedModel, np.ndarray, np.ndarray, np.ndarray]:
        """Our full training on ``part`` (oldest 1 − share train, newest share validate) and the baseline on
        the same two parts: (model, validation labels, our decisions, baseline decisions)."""
        model = train(part, "lead", now, TrainingConfig(validation_share=share))
        n_val = model.metrics["n_validation"]
        val = part[-n_val:]
        ours = model.estimator.decision_function(model.builder.transform(val))
        theirs = _baseline_decisions([by_id[r.record_id] for r in part[:-n_val]], [by_id[r.record_id] for r in val])
        return model, np.array([r.label for r in val]), ours, theirs

    started, cpu = time.perf_counter(), time.process_time()
    model, y_val, ours, theirs = versus_baseline(closed, TrainingConfig().validation_share)
    fit_wall, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
    n_val = model.metrics["n_validation"]
    base_auc = roc_auc_score(y_val, theirs)
    used = [c for c in rows[0] if c not in UNUSED and c not in POST_OUTCOME]
    print(f"Leads.csv ({len(records):,} leads, {len(used)} fields, {len(POST_OUTCOME)} post-outcome excluded; "
          f"{model.metrics['n_train']:,} oldest train / {n_val:,} newest validate; ours trained in "
          f"{fit_wall:.1f} s wall / {fit_cpu:.1f} s CPU):")
    for name, cand in model.metrics["candidates"].items():
        print(f"  candidate {name}: out-of-fold AUC {cand['oof_auc']:.4f}, validation AUC {cand['validation_auc']:.4f}")
    low, high = _paired_bootstrap(y_val, ours, theirs)
    print(f"  kept {model.algorithm}: validation AUC {model.metrics['auc']:.4f} vs one-hot LogisticRegression "
          f"{base_auc:.4f} (difference {model.metrics['auc'] - base_auc:+.4f}, paired-bootstrap 95 % interval "
          f"{low:+.4f} to {high:+.4f}; target +0.01)")
    print(f"  accuracy {model.metrics['accuracy']:.3f}, F1 {model.metrics['f1']:.3f}, leakage warnings: "
          f"{model.warnings or 'none'}")
    # The same comparison on later slices of the training part only (each trained on everything older): how
    # the margin varies from one time slice to the next, without touching the validation part.
    train_part = closed[:-n_val]
    margins = []
    for lo, hi in FORWARD_SLICES:
        part = train_part[:round(hi * len(train_part))]
        fold_model, y, _, theirs_fold = versus_baseline(part, (hi - lo) / hi)
        fold_base = roc_auc_score(y, theirs_fold)
        margins.append(fold_model.metrics["auc"] - fold_base)
        print(f"  training part, leads {lo:.0%}–{hi:.0%} after training on the older ones: ours "
              f"{fold_model.metrics['auc']:.4f} ({fold_model.algorithm}) vs baseline {fold_base:.4f} "
              f"({margins[-1]:+.4f})")
    print(f"  mean margin over those {len(margins)} slices {np.mean(margins):+.4f}; validation {model.metrics['auc'] - base_auc:+.4f}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_scoring")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--leads", type=Path, default=None, help="path to the X Education Leads.csv")
    args = parser.parse_args(argv)
    bench_speed(args.records)
    if args.leads is not None:
        bench_leads(args.leads)
    else:
        print("Leads.csv comparison skipped: pass --leads PATH (see docs/scoring.md)")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
