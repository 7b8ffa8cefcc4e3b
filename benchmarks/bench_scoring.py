"""Scoring benchmark: training time and scoring-with-reasons throughput vs plain LogisticRegression, and
validation AUC on public lead-conversion data vs a one-hot LogisticRegression — the X Education "Leads.csv"
(``--leads PATH``) and the UCI "Bank Marketing" ``bank-additional-full.csv`` (``--bank PATH``): the margin on the
newest 20 % with a paired-bootstrap interval, and the same comparison on four forward slices of the training part
(each model trained on the older records), which shows how much the margin varies by time slice.

``python -m benchmarks.bench_scoring [--records N] [--leads PATH] [--bank PATH]``. The data sets are not in the
repository; docs/scoring.md says where to get them, which of their columns are excluded as post-outcome and how
the bank file's rows get dates.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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
# UCI "Bank Marketing" (bank-additional-full.csv, CC BY 4.0). The call's length is known only after the call,
# which also settles the outcome (the data set's own notes say to discard it for a realistic model); every other
# column is known before the last call: the client's data, the previous campaigns, the contact channel and date,
# the number of calls so far, and the month's or quarter's economic indicators (docs/scoring.md).
BANK_POST_OUTCOME = ("duration",)
BANK_NUMERIC = ("age", "duration", "campaign", "pdays", "previous", "emp.var.rate", "cons.price.idx",
                "cons.conf.idx", "euribor3m", "nr.employed")
BANK_ID = "Contact"  # added: the file has no id
BANK_UNUSED = (BANK_ID, "Created", "Closed", "y")
BANK_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
BANK_FIRST_YEAR = 2008
BANK_ROWS = 41_188
# The rows run from May 2008 to November 2010, longer than the two years the product trains on at most: trained
# as of 1 May 2010, the two-year window is exactly May 2008 – April 2010, 96 % of the rows (the 1,620 later ones
# are left out); trained after the last row it would keep December 2008 on, a third of them.
BANK_NOW = datetime(2010, 5, 1, tzinfo=UTC)
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


@dataclass(frozen=True)
class RealData:
    """A public data set ready for the comparison: its rows (with the id, creation and closing columns the mapping
    reads) and how both models read them."""

    title: str  # printed: "Leads.csv"
    noun: str  # what one record is: "leads"
    rows: list[dict[str, str]]
    mapping: str
    id_column: str
    label_column: str
    positive: str  # the label value that means converted
    numeric: tuple[str, ...]
    post_outcome: tuple[str, ...]
    unused: tuple[str, ...]  # columns that are not fields: ids, dates, the label
    now: datetime

    @property
    def used(self) -> list[str]:
        """The fields both models learn from."""
        return [c for c in self.rows[0] if c not in self.unused and c not in self.post_outcome]


def field_mappings(columns: list[str], numeric: tuple[str, ...], post_outcome: tuple[str, ...],
                   unused: tuple[str, ...]) -> list[str]:
    """One ``[fields.*]`` table per column that is not in ``unused``, post-outcome ones marked."""
    lines = []
    for c in columns:
        if c in unused:
            continue
        key = "".join(ch if ch.isalnum() else "_" for ch in c.lower())
        lines.append(f'[fields.{key}]\ncolumn = "{c}"\nkind = "{"number" if c in numeric else "category"}"\n'
                     f"post_outcome = {'true' if c in post_outcome else 'false'}")
    return lines


def leads_mapping(columns: list[str]) -> str:
    """The mapping of Leads.csv: every column mapped, post-outcome ones marked."""
    lines = ['record_type = "lead"', "[record]", 'id = "Prospect ID"', 'created_at = "Created"',
             'closed_at = "Closed"', "[label]", 'column = "Converted"', 'positive = ["1"]', 'negative = ["0"]',
             "open = []"]
    top = ['ignore = ["Lead Number"]']
    return "\n".join(top + lines + field_mappings(columns, NUMERIC, POST_OUTCOME, UNUSED))


def _leads_rows(path: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    rows.sort(key=lambda r: int(r["Lead Number"]))  # lead numbers grow with time: the only order the data has
    rows = [{k: v for k, v in r.items() if k} for r in rows]
    start = NOW - timedelta(days=700)
    for i, r in enumerate(rows):  # spread over the window in lead-number order (the file has no dates)
        r["Created"] = (start + timedelta(hours=1.5 * i)).isoformat()
        r["Closed"] = (start + timedelta(hours=1.5 * i + 48)).isoformat()
    return rows


def leads_data(path: Path) -> RealData:
    rows = _leads_rows(path)
    return RealData("Leads.csv", "leads", rows, leads_mapping(list(rows[0])), "Prospect ID", "Converted", "1",
                    NUMERIC, POST_OUTCOME, UNUSED, NOW - timedelta(days=700) + timedelta(hours=1.5 * len(rows) + 72))


def bank_dates(months: list[str]) -> list[datetime]:
    """The date of each row of bank-additional-full.csv from its month and its place in the file.

    The rows are in date order (May 2008 to November 2010) but have no year or day: the year starts at 2008 and
    advances whenever the month goes backwards (dec → mar); the rows of one month (one run of equal months) are
    spread evenly over its days in file order, row k of n at (k + ½) / n of the month. Deterministic, and it
    keeps the file's order, which is all the oldest-80 % / newest-20 % split needs."""
    ym: list[tuple[int, int]] = []
    year = BANK_FIRST_YEAR
    for name in months:
        month = BANK_MONTHS.index(name) + 1
        if ym and month < ym[-1][1]:
            year += 1
        ym.append((year, month))
    out: list[datetime] = []
    for (y, m), run in itertools.groupby(ym):
        n = len(list(run))
        first = datetime(y, m, 1, tzinfo=UTC)
        length = datetime(y + m // 12, m % 12 + 1, 1, tzinfo=UTC) - first
        out.extend(first + length * ((k + 0.5) / n) for k in range(n))
    return out


def bank_mapping(columns: list[str]) -> str:
    """The mapping of bank-additional-full.csv (with the added id and date columns): every column mapped,
    ``duration`` marked post-outcome."""
    lines = ['record_type = "lead"', "[record]", f'id = "{BANK_ID}"', 'created_at = "Created"',
             'closed_at = "Closed"', "[label]", 'column = "y"', 'positive = ["yes"]', 'negative = ["no"]',
             "open = []"]
    return "\n".join(lines + field_mappings(columns, BANK_NUMERIC, BANK_POST_OUTCOME, BANK_UNUSED))


def bank_data(path: Path, now: datetime = BANK_NOW) -> RealData:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    if len(rows) != BANK_ROWS:  # several public copies are cut down or re-encoded (docs/scoring.md)
        print(f"warning: {path} has {len(rows):,} rows, the UCI file {BANK_ROWS:,}")
    for i, (r, when) in enumerate(zip(rows, bank_dates([r["month"] for r in rows]), strict=True)):
        r[BANK_ID] = f"C{i + 1:05d}"  # zero-padded: the product breaks ties in closing time by id
        # The file's only date is the last contact's, and the outcome is known at the end of that call.
        r["Created"] = r["Closed"] = when.isoformat()
    return RealData("bank-additional-full.csv", "contacts", rows, bank_mapping(list(rows[0])), BANK_ID, "y", "yes",
                    BANK_NUMERIC, BANK_POST_OUTCOME, BANK_UNUSED, now)


def _baseline_decisions(data: RealData, train_rows: list[dict[str, str]], test_rows: list[dict[str, str]]) -> np.ndarray:
    """The baseline: scikit-learn's LogisticRegression on one-hot categories + standardised numbers (missing
    numbers as 0) of ``data``'s fields, fitted on ``train_rows`` with default settings; its decision values on
    ``test_rows``."""
    cat_cols = [c for c in data.used if c not in data.numeric]
    num_cols = [c for c in data.used if c in data.numeric]
    enc = OneHotEncoder(handle_unknown="ignore").fit([[r[c] for c in cat_cols] for r in train_rows])

    def num(rs: list[dict[str, str]]) -> np.ndarray:
        return np.array([[float(r[c]) if r[c] else 0.0 for c in num_cols] for r in rs])

    scaler = StandardScaler().fit(num(train_rows))

    def matrix(rs: list[dict[str, str]]) -> sparse.csr_matrix:
        return sparse.hstack([enc.transform([[r[c] for c in cat_cols] for r in rs]),
                              scaler.transform(num(rs))]).tocsr()

    y = [int(r[data.label_column] == data.positive) for r in train_rows]
    baseline = LogisticRegression(max_iter=2000).fit(matrix(train_rows), y)
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


def _records(data: RealData) -> list[ScoringRecord]:
    """``data``'s rows through the product's own mapping and parsing, as an import would read them."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(data.rows[0]))
    writer.writeheader()
    writer.writerows(data.rows)
    parsed = parse_records(buf.getvalue(), parse_mapping(data.mapping), "csv")
    assert not parsed.problems, parsed.problems[:3]
    return [ScoringRecord(r.record_id, r.created_at, 1 if r.outcome == "positive" else 0, closed_at=r.closed_at,
                          fields=r.fields) for r in parsed.records]


def bench_real(data: RealData) -> None:
    """Our training vs the one-hot baseline on ``data``: the newest 20 % of the window, then forward slices of
    the training part."""
    records = _records(data)
    now = data.now
    by_id = {r[data.id_column]: r for r in data.rows}
    closed = closed_in_window(records, now, TrainingConfig())

    def versus_baseline(part: list[ScoringRecord], share: float) -> tuple[TrainedModel, np.ndarray, np.ndarray, np.ndarray]:
        """Our full training on ``part`` (oldest 1 − share train, newest share validate) and the baseline on
        the same two parts: (model, validation labels, our decisions, baseline decisions)."""
        model = train(part, "lead", now, TrainingConfig(validation_share=share))
        n_val = model.metrics["n_validation"]
        val = part[-n_val:]
        ours = model.estimator.decision_function(model.builder.transform(val))
        theirs = _baseline_decisions(data, [by_id[r.record_id] for r in part[:-n_val]],
                                     [by_id[r.record_id] for r in val])
        return model, np.array([r.label for r in val]), ours, theirs

    started, cpu = time.perf_counter(), time.process_time()
    model, y_val, ours, theirs = versus_baseline(closed, TrainingConfig().validation_share)
    fit_wall, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
    n_val = model.metrics["n_validation"]
    base_auc = roc_auc_score(y_val, theirs)
    # Only when the window leaves some out (the bank data spans more than the two years allowed).
    window = "" if len(closed) == len(records) else (
        f", {len(closed):,} closed in the window {model.metrics['window_start'][:10]} to "
        f"{model.metrics['window_end'][:10]}")
    print(f"{data.title} ({len(records):,} {data.noun}{window}, {len(data.used)} fields, {len(data.post_outcome)} "
          f"post-outcome excluded; {model.metrics['n_train']:,} oldest train / {n_val:,} newest validate; ours "
          f"trained in {fit_wall:.1f} s wall / {fit_cpu:.1f} s CPU):")
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
        print(f"  training part, {data.noun} {lo:.0%}–{hi:.0%} after training on the older ones: ours "
              f"{fold_model.metrics['auc']:.4f} ({fold_model.algorithm}) vs baseline {fold_base:.4f} "
              f"({margins[-1]:+.4f})")
    print(f"  mean margin over those {len(margins)} slices {np.mean(margins):+.4f}; validation {model.metrics['auc'] - base_auc:+.4f}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_scoring")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--leads", type=Path, default=None, help="path to the X Education Leads.csv")
    parser.add_argument("--bank", type=Path, default=None, help="path to the UCI bank-additional-full.csv")
    parser.add_argument("--bank-now", type=date.fromisoformat, default=BANK_NOW.date(),
                        help=f"train the bank data as of this day (default {BANK_NOW:%Y-%m-%d}; window two years)")
    args = parser.parse_args(argv)
    bench_speed(args.records)
    if args.leads is not None:
        bench_real(leads_data(args.leads))
    else:
        print("Leads.csv comparison skipped: pass --leads PATH (see docs/scoring.md)")
    if args.bank is not None:
        bench_real(bank_data(args.bank, datetime.combine(args.bank_now, datetime.min.time(), UTC)))
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
