"""``python -m medallion.testing.kafka``: runs :func:`medallion.testing.kafka.cli.main`."""

from __future__ import annotations

import sys

from medallion.testing.kafka.cli import main

if __name__ == "__main__":
    sys.exit(main())
