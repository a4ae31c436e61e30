"""The config's defaults for benchmark code: the schema is their one source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from random_nas.plan import schema_defaults
from random_nas.training_config import TrainingConfig

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"
DEFAULTS = schema_defaults(yaml.safe_load(SCHEMA.read_text()))


def dataset_config(**changes: Any) -> dict[str, Any]:
    return {**DEFAULTS["dataset"], **changes}


def training_config(seed: int = 0, **changes: Any) -> TrainingConfig:
    return TrainingConfig.from_config({**DEFAULTS["training"], **changes}, seed)
