"""Folders of the checkout this package is installed from (editable, as the workspace installs it).

The training defaults point into the repository: ``models/<name>/`` for checkpoints and exports,
``../shared/data`` beside the checkout for the training images.
"""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[5]
MODELS = REPOSITORY / "models"
SHARED_DATA = REPOSITORY.parent / "shared" / "data"
