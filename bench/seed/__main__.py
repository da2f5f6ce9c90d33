"""`python -m bench.seed <database url> [fraction]`: seed an empty database and say how long."""

from __future__ import annotations

import asyncio
import sys

from bench.seed.build import seed


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print("usage: python -m bench.seed <database url> [fraction, default 0.01]")
        return 2
    report = asyncio.run(seed(argv[0], float(argv[1]) if len(argv) > 1 else 0.01))
    for name, seconds in report.stages.items():
        print(f"{seconds:8.2f}s  {name}")
    print(f"{report.seconds:8.2f}s  total; rows: {report.rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
