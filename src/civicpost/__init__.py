"""civicpost: one approved draft, every channel, on time, on the record."""

from pathlib import Path

__version__ = "0.1.0"

# templates/ and migrations/ live at the top of the project (its fixed layout),
# beside src/; the package is installed editable so they are found from here.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
