"""``python -m vgteach study ...`` (also what ``torchrun -m vgteach`` runs)."""
import sys

from .cli import main

sys.exit(main())
