"""``python -m crm_analytics``: the same as the ``crm-analytics`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
