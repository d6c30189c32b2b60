"""``python -m vgteach study ...`` and ``python -m vgteach diagnose ...`` (also what ``torchrun -m vgteach`` runs)."""

import sys

from .cli import main

sys.exit(main())
