"""What one MRI visit shows, before anybody reads it: the contract between the tumour model and
the readers / response criteria.

The event loop (``simulation.subject``) builds one :class:`ScanObservation` per visit from the
simulated state (true geometry, true clinical status); a simulated reader
(``simulation.readers``) turns it into measurements with reader error; a response criterion
(Macdonald, RANO 2010, RANO 2.0) turns the reads into time-point and best overall responses.

Fields the model does not (yet) simulate keep their neutral defaults, so every producer can fill
what it knows and every consumer can rely on the names.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LesionGeometry:
    """One enhancing lesion as the scan truly shows it (bidimensional, axial plane)."""

    longest_mm: float
    perpendicular_mm: float
    slice_index: int
    #: True when the lesion did not exist on the baseline scan (not connected to a baseline lesion)
    new: bool = False
    #: True when the lesion's centre lies outside the high-dose region (< 80% of the prescription)
    outside_rt_field: bool = False

    @property
    def product_mm2(self) -> float:
        return self.longest_mm * self.perpendicular_mm


@dataclass(frozen=True)
class ScanObservation:
    """The true state of a subject at one MRI visit (visit 0 is the baseline)."""

    day: int
    visit: int
    #: enhancing lesions, largest product first (true diameters; readers add their error)
    lesions: tuple[LesionGeometry, ...] = field(default_factory=tuple)
    enhancing_ml: float = 0.0
    necrosis_ml: float = 0.0
    #: peritumoral T2/FLAIR hyperintensity outside the enhancing lesion and necrosis
    edema_ml: float = 0.0
    #: days since the last dose of an anti-angiogenic drug (None: never given)
    days_since_antiangiogenic: int | None = None
    #: dexamethasone-equivalent dose on the scan day (mg/day)
    steroid_dose_mg: float = 0.0
    #: Karnofsky performance status on the scan day
    kps: int = 100
    #: clinical deterioration not attributable to other causes or to steroid taper
    clinically_worse: bool = False

    @property
    def flair_ml(self) -> float:
        """All T2/FLAIR-visible abnormality (enhancing + necrosis + oedema/infiltration)."""
        return self.enhancing_ml + self.necrosis_ml + self.edema_ml

    @property
    def new_lesion(self) -> bool:
        return any(lesion.new for lesion in self.lesions)

    @property
    def new_lesion_outside_rt_field(self) -> bool:
        return any(lesion.new and lesion.outside_rt_field for lesion in self.lesions)
