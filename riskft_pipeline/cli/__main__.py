"""``python -m riskft_pipeline.cli``: what the ``riskft`` console script runs."""

import sys

from riskft_pipeline.cli import main

sys.exit(main())
