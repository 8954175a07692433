"""Simulation engine: virtual glioblastoma patients, tumour growth on real anatomy, RANO
read-outs and survival, calibrated to published control arms. No Django here."""

from simulation.anatomy import SubjectAnatomy, build_subject_anatomy
from simulation.calibration import CALIBRATION_VERSION
from simulation.cohort import CohortChunk, simulate_subjects
from simulation.labelmap import CroppedLabelMap
from simulation.output import run_cohort
from simulation.population import subject_id
from simulation.regimens import REGIMENS, DrugSchedule, Radiotherapy, Regimen
from simulation.spec import (
    CohortSpec,
    FieldError,
    SpecError,
    parse_spec,
    spec_json_schema,
    validate_spec,
)
from simulation.version import SOFTWARE_VERSION

__all__ = [
    "CALIBRATION_VERSION",
    "REGIMENS",
    "SOFTWARE_VERSION",
    "CohortChunk",
    "CohortSpec",
    "CroppedLabelMap",
    "DrugSchedule",
    "FieldError",
    "Radiotherapy",
    "Regimen",
    "SpecError",
    "SubjectAnatomy",
    "build_subject_anatomy",
    "parse_spec",
    "run_cohort",
    "simulate_subjects",
    "spec_json_schema",
    "subject_id",
    "validate_spec",
]
