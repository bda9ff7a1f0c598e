"""`python -m backend.worker [--kinds a,b]`: what `slmgen serve` starts beside itself (embedded workers)."""

from __future__ import annotations

import sys

from backend.cli.worker import main

if __name__ == "__main__":
    sys.exit(main())
