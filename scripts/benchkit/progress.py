"""The progress log: one timestamped line on stderr per step (stdout is the table's)."""
from __future__ import annotations

import sys
import time


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
