"""``python -m conformance.fuzz --seconds N [--official-dir DIR] [--target NAME]``: a longer fuzz run.

Prints the inputs tried per target and writes every failing input into ``--out`` (exit status 1 if any).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from conformance.fuzz import run_target, seeds_for, targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.fuzz", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="budget per target")
    parser.add_argument("--max-inputs", type=int, default=10**9, help="inputs per target at most")
    parser.add_argument(
        "--target", action="append", choices=sorted(targets()), help="repeatable; all by default"
    )
    parser.add_argument(
        "--official-dir", type=Path, help="official artefacts: their example messages as seeds"
    )
    parser.add_argument("--seed", type=int, default=0, help="another seed gives other inputs")
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where failing inputs go")
    args = parser.parse_args(argv)
    logging.getLogger("python_multipart").setLevel(logging.ERROR)  # it warns on every broken header it meets
    seeds = seeds_for(args.official_dir)
    failed = 0
    for name in args.target or sorted(targets()):
        stats = run_target(
            targets()[name], seeds, max_inputs=args.max_inputs, seconds=args.seconds, seed=args.seed
        )
        print(
            f"{name}: {stats.inputs} inputs in {stats.seconds:.1f} s, {stats.typed_errors} typed errors, "
            f"slowest {stats.slowest * 1000:.0f} ms, {len(stats.failures)} failures"
        )
        for index, failure in enumerate(stats.failures):
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{name}-{index}.bin").write_bytes(failure.data)
            (args.out / f"{name}-{index}.txt").write_text(
                f"content-type: {failure.content_type}\n{failure.error}"
            )
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
