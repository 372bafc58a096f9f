"""Study name -> its paper-style report (tables, notes, curves); plain Python over replicate groups, no MLflow here.

Each study's builder lives in its own ``table_<study>.py`` and registers itself with ``@STUDY_TABLES.register``;
importing them here fills the registry. Studies with no builder get a generic table.
"""

from __future__ import annotations

from collections.abc import Sequence

from ablations import (
    table_dedup,  # noqa: F401  (registers "dedup")
    table_image_encoders,  # noqa: F401  (registers "image_encoders")
    table_loss,  # noqa: F401  (registers "loss")
    table_precompute,  # noqa: F401  (registers "precompute")
    table_text_models,  # noqa: F401  (registers "text_models")
    table_towers,  # noqa: F401  (registers "towers")
    table_towers_lr,  # noqa: F401  (registers "towers_lr")
)
from ablations.report_groups import Group
from ablations.report_model import STUDY_TABLES, StudyReport
from ablations.table_generic import generic

__all__ = ["STUDY_TABLES", "build"]


def build(study: str, groups: Sequence[Group]) -> StudyReport:
    """The study's registered report, or the generic one for a study the paper tables do not cover."""
    if study in STUDY_TABLES:
        return STUDY_TABLES.get(study)(groups)
    return generic(study, groups)
