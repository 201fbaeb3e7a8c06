"""Training without torch: result DTOs, the epoch log, replay samples and datasets.

Strategies that need torch live in townlet-strategies; everything here is
numpy and pydantic only, so a third-party strategy needs townlet-core alone.
"""

from townlet.core.training.dto import (
    TELEMETRY_VERSION,
    EpochRecord,
    EvaluationReport,
    PromotionDecision,
    TrainingResult,
)
from townlet.core.training.epoch_log import EPOCH_LOG, EpochCallback, EpochLogger
from townlet.core.training.normalize import ObsNormalizer, RunningMoments
from townlet.core.training.replay import Batch, Normalize, ReplayDataset
from townlet.core.training.replay_format import (
    append_to_manifest,
    check_sample,
    load_sample,
    read_manifest,
    read_sidecar,
    write_sample,
)
from townlet.core.training.replay_meta import (
    MANIFEST_NAME,
    REPLAY_SCHEMA_VERSION,
    EpisodeInfo,
    Manifest,
    ReplayError,
    Sample,
    SampleMeta,
    Sidecar,
    SpecInfo,
)
from townlet.core.training.replay_summary import (
    FeatureStats,
    ReplaySummary,
    batch_summary,
    inspect_text,
)

__all__ = [
    "EPOCH_LOG",
    "MANIFEST_NAME",
    "REPLAY_SCHEMA_VERSION",
    "TELEMETRY_VERSION",
    "Batch",
    "EpisodeInfo",
    "EpochCallback",
    "EpochLogger",
    "EpochRecord",
    "EvaluationReport",
    "FeatureStats",
    "Manifest",
    "Normalize",
    "ObsNormalizer",
    "PromotionDecision",
    "ReplayDataset",
    "ReplayError",
    "ReplaySummary",
    "RunningMoments",
    "Sample",
    "SampleMeta",
    "Sidecar",
    "SpecInfo",
    "TrainingResult",
    "append_to_manifest",
    "batch_summary",
    "check_sample",
    "inspect_text",
    "load_sample",
    "read_manifest",
    "read_sidecar",
    "write_sample",
]
