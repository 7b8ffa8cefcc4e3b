"""Notes analysis: quality on our annotated set and on Recognizers-Text's public date/time specs, and latency.

Run: ``python -m benchmarks notes`` or ``python -m benchmarks.bench_notes [--specs DIR] [--sets dev,heldout]``.

* suggestion kinds: precision/recall per kind on ``benchmarks/data/notes_{en,zh}.jsonl`` (the development set,
  whose sentences the cue words were tuned against) and, with ``--sets heldout``, on
  ``notes_heldout_{en,zh}.jsonl`` (written later by someone who had not seen the analyzer's patterns, source or
  the development sentences; never used for tuning);
* resolved start times: exact-match rate of the main time expression's start, side by side with dateparser's
  ``search_dates`` and Microsoft Recognizers-Text (``recognizers-text-date-time``, if importable);
* the same on Recognizers-Text's ``Specs/DateTime/{English,Chinese}/DateTimeModel.json`` when ``--specs``
  names a checkout's ``Specs/DateTime`` folder (see ``docs/notes.md``; the corpus is not committed);
* latency p50/p99 per realistic note, as a ratio to ``search_dates`` on the same notes, and the time of one
  100,000-character note.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from analytics.nlp.analyzer import NoteAnalyzer
from analytics.nlp.evaluation import (
    KINDS,
    EvalItem,
    KindReport,
    load_items,
    main_start,
    predicted_kinds,
    start_matches,
)

DATA = Path(__file__).parent / "data"
# Annotated sets by name: (label printed in the report, English file, Chinese file).
SETS = {
    "dev": ("own set (development)", "notes_en.jsonl", "notes_zh.jsonl"),
    "heldout": ("held-out set", "notes_heldout_en.jsonl", "notes_heldout_zh.jsonl"),
}
Prediction = tuple[datetime, bool] | None
System = Callable[[str, datetime, str, str], Prediction]


def _ours(analyzer: NoteAnalyzer) -> System:
    def run(text: str, now: datetime, tz: str, lang: str) -> Prediction:
        return main_start(analyzer.analyze(text, now=now, tz=tz, lang=lang))
    return run


def _dateparser() -> System | None:
    try:
        from dateparser.search import search_dates
    except ImportError:
        return None

    def run(text: str, now: datetime, tz: str, lang: str) -> Prediction:
        settings = {"RELATIVE_BASE": now, "PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False}
        try:
            found = search_dates(text, languages=[lang], settings=settings) or []
        except Exception:
            return None
        if not found:
            return None
        phrase, when = max(found, key=lambda f: len(f[0]))
        return when, ":" in phrase or any(w in phrase.lower() for w in ("am", "pm", "点", "noon"))
    return run


def _recognizers() -> System | None:
    try:
        from recognizers_date_time import Culture, recognize_datetime
    except Exception:
        return None
    cultures = {"en": Culture.English, "zh": Culture.Chinese}

    def run(text: str, now: datetime, tz: str, lang: str) -> Prediction:
        try:
            results = recognize_datetime(text, cultures[lang], reference=now)
        except Exception:
            return None
        best: Prediction = None
        best_len = -1
        for r in results:
            values = (r.resolution or {}).get("values") or []
            for v in reversed(values):  # the last value is the future reading
                raw = v.get("value") or v.get("start")
                if raw and len(r.text) > best_len:
                    try:
                        when = datetime.fromisoformat(raw) if len(raw) > 8 else None
                    except ValueError:
                        when = None
                    if when is not None:
                        best, best_len = (when, len(raw) > 10), len(r.text)
                    break
        return best
    return run


def _kind_report(analyzer: NoteAnalyzer, items: list[EvalItem]) -> None:
    rep = KindReport()
    for it in items:
        rep.add(it.kinds, predicted_kinds(analyzer.analyze(it.text, now=it.now, tz=it.tz, lang=it.lang)))
    for kind in KINDS:
        s = rep.scores.get(kind)
        if s:
            print(f"    {kind:16} P={s.precision:.3f} R={s.recall:.3f}  (tp={s.tp} fp={s.fp} fn={s.fn})")
    m = rep.micro()
    print(f"    {'micro':16} P={m.precision:.3f} R={m.recall:.3f}")


def _start_table(systems: dict[str, System | None], cases: list[tuple[str, datetime, str, str, list[str]]],
                 label: str) -> None:
    line = [f"    {label:34} n={len(cases):4}"]
    for name, system in systems.items():
        if system is None:
            line.append(f"{name}=unavailable")
            continue
        hits = sum(any(start_matches(g, system(text, now, tz, lang)) for g in gold)
                   for text, now, tz, lang, gold in cases)
        line.append(f"{name}={hits / max(len(cases), 1):.3f}")
    print("  ".join(line), flush=True)


def _own_cases(items: list[EvalItem]) -> list[tuple[str, datetime, str, str, list[str]]]:
    return [(it.text, it.now, it.tz, it.lang, [it.start]) for it in items if it.start]


_POINT_TYPES = ("datetimeV2.date", "datetimeV2.datetime", "datetimeV2.daterange", "datetimeV2.datetimerange")


def spec_cases(path: Path, lang: str, python_only: bool) -> list[tuple[str, datetime, str, str, list[str]]]:
    """Cases from a Recognizers-Text DateTimeModel.json: one date/datetime(-range) result with a reference."""
    cases = []
    for item in json.loads(path.read_text("utf-8-sig")):
        ref = (item.get("Context") or {}).get("ReferenceDateTime")
        results = item.get("Results") or []
        if not ref or len(results) != 1 or results[0].get("TypeName") not in _POINT_TYPES:
            continue
        if python_only and "python" in (item.get("NotSupported", "") + item.get("NotSupportedByDesign", "")).lower():
            continue
        gold = []
        for v in (results[0].get("Resolution") or {}).get("values") or []:
            raw = v.get("value") or v.get("start")
            if raw and raw[:4].isdigit():
                gold.append(raw[:10] if len(raw) <= 10 else raw[:16].replace(" ", "T"))
        if gold:
            cases.append((item["Input"], datetime.fromisoformat(ref), "UTC", lang, gold))
    return cases


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _latency(analyzer: NoteAnalyzer, dateparser: System | None, items: list[EvalItem], rounds: int) -> None:
    # Realistic notes: four consecutive annotated sentences of one language joined into a paragraph.
    notes = []
    for lang in ("en", "zh"):
        same = [it for it in items if it.lang == lang]
        sep = " " if lang == "en" else ""
        notes += [(sep.join(i.text for i in same[k:k + 4]), same[k].now, same[k].tz, lang)
                  for k in range(0, len(same) - 3, 4)]
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        for text, now, tz, lang in notes:
            t0 = time.perf_counter()
            analyzer.analyze(text, now=now, tz=tz, lang=lang)
            ours.append(time.perf_counter() - t0)
            if dateparser is not None:
                t0 = time.perf_counter()
                dateparser(text, now, tz, lang)
                theirs.append(time.perf_counter() - t0)
    p50, p99 = _percentile(ours, 0.5) * 1e3, _percentile(ours, 0.99) * 1e3
    print(f"  latency over {len(notes)} notes x {rounds}: analyze_note p50={p50:.2f} ms p99={p99:.2f} ms")
    if theirs:
        d50, d99 = _percentile(theirs, 0.5) * 1e3, _percentile(theirs, 0.99) * 1e3
        print(f"  dateparser search_dates p50={d50:.2f} ms p99={d99:.2f} ms"
              f"  -> ratio ours/dateparser p50={p50 / d50:.3f} p99={p99 / d99:.3f}")
    big = " ".join(t for t, *_ in notes)
    while len(big) < 100_000:
        big += " " + big
    big = big[:100_000]
    t0 = time.perf_counter()
    result = analyzer.analyze(big, now=notes[0][1], tz=notes[0][2])
    elapsed = time.perf_counter() - t0
    print(f"  100,000-character mixed note: {elapsed:.2f} s, {len(result.suggestions)} suggestions, "
          f"{len(result.times)} times")
    half = big[:50_000]
    t0 = time.perf_counter()
    analyzer.analyze(half, now=notes[0][1], tz=notes[0][2])
    print(f"  50,000-character prefix: {time.perf_counter() - t0:.2f} s (linear growth check)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_notes")
    parser.add_argument("--specs", type=Path, default=None,
                        help="Recognizers-Text Specs/DateTime folder (holds English/ and Chinese/)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sets", default="dev",
                        help=f"comma-separated annotated sets to score, of {', '.join(SETS)} (default: dev)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown or not names:
        parser.error(f"--sets: unknown set(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(SETS)}")
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    analyzer = NoteAnalyzer()
    print(f"  pipelines built in {time.perf_counter() - t0:.2f} s")
    sets = {name: load_items(DATA / SETS[name][1]) + load_items(DATA / SETS[name][2]) for name in names}
    systems: dict[str, Any] = {"rapport": _ours(analyzer), "dateparser": _dateparser(),
                               "recognizers": _recognizers()}
    for lang in ("en", "zh"):
        for name, items in sets.items():
            label = SETS[name][0]
            subset = [it for it in items if it.lang == lang]
            print(f"\n  [{lang}] {label}: {len(subset)} sentences; suggestion kinds:")
            _kind_report(analyzer, subset)
            print(f"  [{lang}] {label}: resolved start exact-match:")
            _start_table(systems, _own_cases(subset), f"{name} sales notes ({lang})")
        if args.specs is not None:
            folder = args.specs / ("English" if lang == "en" else "Chinese") / "DateTimeModel.json"
            if folder.exists():
                _start_table(systems, spec_cases(folder, lang, python_only=False), f"RT DateTimeModel ({lang}) all")
                _start_table(systems, spec_cases(folder, lang, python_only=True),
                             f"RT DateTimeModel ({lang}) py-supported")
            else:
                print(f"    (no {folder})")
    print()
    # Latency is measured on the first selected set only, so its figures stay comparable across runs.
    _latency(analyzer, systems["dateparser"], sets[names[0]], args.rounds)
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
