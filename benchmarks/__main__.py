"""``make bench``: run every ``benchmarks/bench_*.py`` (or those named on the command line) in turn.

Each benchmark module exposes ``main(argv: list[str]) -> int`` and prints its own report, measuring its
baseline in the same run. ``python -m benchmarks store emulator`` runs two of them.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks


def main(argv: list[str]) -> int:
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    chosen = argv or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    status = 0
    for name in chosen:
        print(f"\n=== benchmark {name} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.bench_{name}")
        rc = int(module.main([]))
        print(f"=== {name}: exit {rc}, {time.perf_counter() - started:.1f} s ===", flush=True)
        status = status or rc
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
