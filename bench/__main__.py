"""`python -m bench` (`make bench`): the performance benchmark of docs/performance.md."""

import sys

from bench.perf import main

if __name__ == "__main__":
    sys.exit(main())
