"""Command line: ``python -m spectral_nb book [--quick] [--chapters 01 03]``."""
from __future__ import annotations

import argparse
import sys

from spectral_nb.book import CHAPTERS, run_book


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spectral_nb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    book = sub.add_parser("book", help="execute the notebooks in order, headless, and report times")
    book.add_argument("--quick", action="store_true", help="small sizes (as the tests use); "
                      "executed copies go to OutputModel/quick/book/, the committed book is untouched")
    book.add_argument("--chapters", nargs="*", metavar="NN",
                      help="chapter numbers to run (default: all, in order)")
    args = parser.parse_args(argv)
    if args.command == "book":
        chapters = CHAPTERS
        if args.chapters:
            wanted = {c.zfill(2) for c in args.chapters}
            chapters = tuple(c for c in CHAPTERS if c[:2] in wanted)
            if not chapters:
                parser.error(f"no chapter numbered {', '.join(sorted(wanted))}; have "
                             + ", ".join(c[:2] for c in CHAPTERS))
        timings = run_book(quick=args.quick, chapters=chapters)
        total = sum(s for _, s in timings)
        print(f"\n{'chapter':<40} {'seconds':>8}")
        for name, seconds in timings:
            print(f"{name:<40} {seconds:8.1f}")
        print(f"{'total':<40} {total:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
