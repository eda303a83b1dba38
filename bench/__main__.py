"""Run the benchmarks: `python -m bench NAME [options]` runs bench/NAME.py (for example
`python -m bench upload --rows 100000`); `python -m bench` (what `make bench` runs)
runs every benchmark with its defaults, one after the other.

Each runs in a process of its own: they configure Django differently (their own
databases), and settings are read once per process.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    """The benchmarks: modules of bench/ with a `main()` (helpers such as settings have none)."""
    return sorted(
        p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_") and "\ndef main(" in p.read_text("utf-8")
    )


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__ + "\nbenchmarks: " + ", ".join(names()))
        return 0
    if not argv:
        failed = [n for n in names() if subprocess.run([sys.executable, "-m", "bench", n]).returncode]
        if failed:
            print(f"\nbenchmarks that missed a target or failed: {', '.join(failed)}")
        return 1 if failed else 0
    name, *rest = argv
    if name not in names():
        print(f"no benchmark {name!r}; there are: {', '.join(names())}", file=sys.stderr)
        return 2
    sys.argv = [f"bench {name}", *rest]
    module = importlib.import_module(f"bench.{name}")
    module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
