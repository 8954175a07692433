"""The ``physics`` engine: MR signal equations on partial-volume tissue maps.

Per visit: (1) mass effect — tissue maps are pushed radially away from the tumour's centroid by
an incompressible displacement proportional to the tumour volume, tapered to zero one radius
further out; (2) partial volume — every brain voxel is a mixture of grey matter, white matter,
CSF and the three tumour compartments; (3) each compartment's signal comes from its T1, T2 and
proton density through the sequence's signal equation (spoiled gradient echo for T1, spin echo
for T2, inversion recovery with CSF-nulling TI for FLAIR), gadolinium shortens T1 of the
enhancing tumour on ``t1c`` only; (4) a smooth multiplicative bias field and Rician noise, both
drawn from the subject seed and the sequence — never from the visit — so the noise texture is
fixed to the subject; (5) with the subject's age, age-related periventricular white-matter
hyperintensities: part of the white matter next to the ventricles gets longer T1 and T2, so it
is bright on FLAIR and T2w, more so the older the subject (no age: no lesions; sex is ignored).

Work is done on the brain voxels only (the output is skull-stripped like BraTS). Per subject the
engine caches the tumour-free volume, bias field and noise texture; a visit then recomputes only
the voxels its tumour and mass effect touch. All steps are element-wise, so a fresh engine and
one that has rendered other visits give bit-identical volumes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from generator.engine import SEQUENCES, Engine, GeneratorInputError, RenderRequest, validate_request

__all__ = [
    "FIELD_STRENGTHS_T",
    "SEQUENCE_PROTOCOLS",
    "TISSUES",
    "InversionRecovery",
    "PhysicsEngine",
    "SpinEcho",
    "SpoiledGradientEcho",
    "TissueParameters",
    "tissue_parameters",
]


# --------------------------------------------------------------------------- tissue parameters


@dataclass(frozen=True)
class TissueParameters:
    """Relaxation times (ms) and proton density (water content relative to CSF = 1)."""

    t1_ms: float
    t2_ms: float
    pd: float


#: Compartments in the order the engine mixes them.
TISSUES: tuple[str, ...] = ("gm", "wm", "csf", "oedema", "necrosis", "enhancing")

# Normal tissue.
#   GM/WM T1 and T2 at 1.5 T and 3 T: Stanisz GJ et al., "T1, T2 relaxation and magnetization
#     transfer in tissue at 3T", Magn Reson Med 2005;54:507-512 (Table 1: WM 884/72 ms at 1.5 T,
#     1084/69 ms at 3 T; GM 1124/95 ms at 1.5 T, 1820/99 ms at 3 T).
#   CSF T1 ~4.4 s, nearly field independent: Rooney WD et al., "Magnetic field and tissue
#     dependencies of human brain longitudinal 1H2O relaxation in vivo", Magn Reson Med
#     2007;57:308-318.
#   CSF T2 of order 1.5-2 s (approximate; multi-echo CSF measurements e.g. Piechnik SK et al.,
#     Magn Reson Med 2009;61:579-586); 1.8 s used at both fields.
#   Proton density (water content): WM ~0.69, GM ~0.80, CSF 1.0: Neeb H, Zilles K, Shah NJ,
#     "A new method for fast quantitative mapping of absolute water content in vivo",
#     NeuroImage 2006;31:1156-1168.
# Tumour compartments at 3 T (approximate, within the ranges of quantitative maps of
#   glioblastoma: Lescher S et al., Neuroradiology 2015;57:11-20, and Blystad I et al.,
#   "Quantitative MRI for analysis of peritumoral edema in malignant gliomas", PLoS One
#   2017;12:e0177135): peritumoral oedema T1 ~1.9 s, T2 ~190 ms (long T2: extracellular water);
#   necrosis T1 ~2.8 s, T2 ~300 ms (fluid-like); enhancing tumour T1 ~1.9 s, T2 ~130 ms
#   before contrast. At 1.5 T tumour T1s are scaled by the GM T1 ratio 1124/1820 (Stanisz).
_T1_RATIO_15T = 1124.0 / 1820.0
_TISSUES_3T: dict[str, TissueParameters] = {
    "gm": TissueParameters(t1_ms=1820.0, t2_ms=99.0, pd=0.80),
    "wm": TissueParameters(t1_ms=1084.0, t2_ms=69.0, pd=0.69),
    "csf": TissueParameters(t1_ms=4400.0, t2_ms=1800.0, pd=1.00),
    "oedema": TissueParameters(t1_ms=1900.0, t2_ms=190.0, pd=0.86),
    "necrosis": TissueParameters(t1_ms=2800.0, t2_ms=300.0, pd=0.90),
    "enhancing": TissueParameters(t1_ms=1900.0, t2_ms=130.0, pd=0.85),
}
_TISSUES_15T: dict[str, TissueParameters] = {
    "gm": TissueParameters(t1_ms=1124.0, t2_ms=95.0, pd=0.80),
    "wm": TissueParameters(t1_ms=884.0, t2_ms=72.0, pd=0.69),
    "csf": TissueParameters(t1_ms=4400.0, t2_ms=1800.0, pd=1.00),
    **{
        name: TissueParameters(t1_ms=p.t1_ms * _T1_RATIO_15T, t2_ms=p.t2_ms, pd=p.pd)
        for name, p in _TISSUES_3T.items()
        if name in ("oedema", "necrosis", "enhancing")
    },
}
FIELD_STRENGTHS_T: tuple[float, ...] = (1.5, 3.0)

# Gadolinium (gadobutrol) relaxivities in plasma at 37 C, per mM per s: r1 5.2 (1.5 T), 5.0 (3 T);
#   r2 6.1 (1.5 T), 7.1 (3 T): Rohrer M et al., "Comparison of magnetic properties of MRI
#   contrast media solutions at different magnetic field strengths", Invest Radiol
#   2005;40:715-724.
GD_R1_PER_MM_S = {1.5: 5.2, 3.0: 5.0}
GD_R2_PER_MM_S = {1.5: 6.1, 3.0: 7.1}
#: Tissue gadolinium in enhancing tumour a few minutes after 0.1 mmol/kg: ~0.2 mM (plasma
#: ~0.5-1 mM times an extravascular extracellular fraction ve ~0.2-0.4 from DCE-MRI of
#: glioblastoma; order of magnitude, model choice).
GD_ENHANCING_MM = 0.2


def tissue_parameters(field_strength_t: float) -> dict[str, TissueParameters]:
    """Tissue table at 1.5 T or 3 T."""
    if field_strength_t == 3.0:
        return dict(_TISSUES_3T)
    if field_strength_t == 1.5:
        return dict(_TISSUES_15T)
    raise GeneratorInputError(
        f"field_strength_t: {field_strength_t} T not tabulated (choices: {FIELD_STRENGTHS_T})"
    )


# --------------------------------------------------------------------------- signal equations


@dataclass(frozen=True)
class SpoiledGradientEcho:
    """Steady-state spoiled gradient echo (FLASH/SPGR):
    S = PD sin(a) (1 - E1) / (1 - cos(a) E1) exp(-TE/T2*), E1 = exp(-TR/T1).
    TE is short (2.5 ms), so T2* is approximated by T2 (error < 3 %)."""

    tr_ms: float
    te_ms: float
    flip_deg: float

    def signal(self, t1_ms: np.ndarray, t2_ms: np.ndarray, pd: np.ndarray) -> np.ndarray:
        e1 = np.exp(-self.tr_ms / t1_ms)
        alpha = math.radians(self.flip_deg)
        return (
            pd
            * math.sin(alpha)
            * (1.0 - e1)
            / (1.0 - math.cos(alpha) * e1)
            * np.exp(-self.te_ms / t2_ms)
        )


@dataclass(frozen=True)
class SpinEcho:
    """Spin echo: S = PD (1 - exp(-TR/T1)) exp(-TE/T2)."""

    tr_ms: float
    te_ms: float

    def signal(self, t1_ms: np.ndarray, t2_ms: np.ndarray, pd: np.ndarray) -> np.ndarray:
        return pd * (1.0 - np.exp(-self.tr_ms / t1_ms)) * np.exp(-self.te_ms / t2_ms)


@dataclass(frozen=True)
class InversionRecovery:
    """Inversion recovery spin echo, magnitude:
    S = PD |1 - 2 exp(-TI/T1) + exp(-TR/T1)| exp(-TE/T2).
    ``ti_ms=None`` picks the TI that nulls CSF: TI = T1_csf ln(2 / (1 + exp(-TR/T1_csf)))."""

    tr_ms: float
    te_ms: float
    ti_ms: float | None = None

    def null_ti_ms(self, t1_null_ms: float) -> float:
        return t1_null_ms * math.log(2.0 / (1.0 + math.exp(-self.tr_ms / t1_null_ms)))

    def signal(
        self, t1_ms: np.ndarray, t2_ms: np.ndarray, pd: np.ndarray, *, ti_ms: float
    ) -> np.ndarray:
        recovery = 1.0 - 2.0 * np.exp(-ti_ms / t1_ms) + np.exp(-self.tr_ms / t1_ms)
        return pd * np.abs(recovery) * np.exp(-self.te_ms / t2_ms)


#: Protocols typical of glioma imaging (BraTS-like): 3D T1 spoiled GRE before/after
#: gadolinium, T2 (turbo) spin echo, 2D/3D FLAIR. Parameters are representative values.
SEQUENCE_PROTOCOLS: dict[str, SpoiledGradientEcho | SpinEcho | InversionRecovery] = {
    "t1n": SpoiledGradientEcho(tr_ms=9.0, te_ms=2.5, flip_deg=20.0),
    "t1c": SpoiledGradientEcho(tr_ms=9.0, te_ms=2.5, flip_deg=20.0),
    "t2w": SpinEcho(tr_ms=5000.0, te_ms=100.0),
    "t2f": InversionRecovery(tr_ms=9000.0, te_ms=120.0),
}

# --------------------------------------------------------------------------- model constants

#: Output scale: every sequence is scaled so that white matter reads this value, which keeps
#: t1n and t1c on one scale (WM does not enhance) and int16 storage precise.
WM_REFERENCE_INTENSITY = 1000.0
#: Rician noise standard deviation as a fraction of the WM signal (SNR_WM ~ 33; typical of
#: clinical 3 T brain scans at 1 mm, model choice).
NOISE_FRACTION_OF_WM = 0.03
#: Peak log-amplitude of the smooth multiplicative bias field (about +/-15 % receive-coil
#: inhomogeneity, the range N4 corrects in practice; model choice).
BIAS_LOG_AMPLITUDE = 0.15
#: Fraction of the abnormal (labelled) volume that displaces tissue rather than infiltrating it
#: (model choice: infiltrating gliomas show less mass effect than their volume).
MASS_EFFECT_FRACTION = 0.5
#: The displacement is tapered to zero between the tumour's equivalent radius and this many
#: equivalent radii further out (plus a minimum width, mm).
MASS_EFFECT_TAPER_RADII = 1.0
MASS_EFFECT_MIN_TAPER_MM = 10.0
#: Share of an oedema voxel occupied by the oedema compartment; the rest keeps its normal
#: tissue, so anatomy stays faintly visible through oedema.
OEDEMA_VOLUME_FRACTION = 0.8
#: Gaussian sigma (voxels) smoothing the label indicators: partial volume at label borders.
LABEL_PARTIAL_VOLUME_SIGMA_VOX = 0.5
#: Per-subject jitter of T1, T2 and PD (relative standard deviation): subjects differ,
#: visits of one subject do not (model choice; inter-subject T1 CV in Stanisz ~3-6 %).
SUBJECT_TISSUE_JITTER = 0.03

# Age-related white-matter hyperintensities (leukoaraiosis). Their prevalence and extent rise
#   steeply with age and they are predominantly periventricular: de Leeuw FE et al.,
#   "Prevalence of cerebral white matter lesions in elderly people: a population based magnetic
#   resonance imaging study. The Rotterdam Scan Study", J Neurol Neurosurg Psychiatry
#   2001;70:9-14; Fazekas F et al., AJR 1987;149:351-356 (periventricular caps and rims). The
#   numbers below are model choices within that picture, not fitted values:
#: Age (years) at which lesions start, and at which they reach their maximum extent.
WMH_ONSET_AGE_YEARS = 50.0
WMH_FULL_AGE_YEARS = 90.0
#: Largest share of a white-matter voxel at the ventricle wall turned into lesion tissue.
WMH_MAX_FRACTION = 0.6
#: The lesion share decays as exp(-distance / this) away from the ventricles (mm).
WMH_DECAY_MM = 4.0
#: The lesion map is computed on the grid subsampled to about this spacing (mm).
WMH_GRID_MM = 4.0
#: CSF at least this probable and this deep in the brain counts as ventricle, not sulcus.
VENTRICLE_MIN_CSF = 0.5
VENTRICLE_MIN_DEPTH_MM = 15.0
#: Lesion tissue relative to normal white matter (oedema-like: more free water; gliosis and
#: demyelination lengthen T1 and T2).
WMH_T1_FACTOR = 1.3
WMH_T2_FACTOR = 1.7
WMH_PD_FACTOR = 1.1

# RNG stream identifiers: noise and bias depend on (subject seed, stream, sequence) only.
_STREAM_NOISE = 1
_STREAM_BIAS = 2
_STREAM_TISSUE = 3


# --------------------------------------------------------------------------- helpers


@dataclass
class _SubjectGrid:
    """Per-anatomy cache shared by all visits: brain voxel indices and tissue values."""

    anatomy: object
    shape: tuple[int, ...]
    flat_index: np.ndarray  # (n,) int64 flat indices of brain voxels, ascending
    index_map: np.ndarray  # full grid int32: position in flat_index, -1 outside the brain
    tissue: np.ndarray  # (3, n) float32 gm, wm, csf at brain voxels
    tissue_full: tuple[np.ndarray, np.ndarray, np.ndarray]
    ijk: np.ndarray  # (3, n) int16 voxel coordinates of the brain voxels
    bias: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)
    noise: dict[tuple[int, str, float], np.ndarray] = field(default_factory=dict)
    tumour_free: dict[tuple[int, str, float], np.ndarray] = field(default_factory=dict)
    periventricular: np.ndarray | None = None  # (n,) float32, see _periventricular_weight


def _subject_grid(anatomy: object) -> _SubjectGrid:
    # C order (nibabel-loaded maps are Fortran-ordered) so that flat indices walk memory.
    mask = np.ascontiguousarray(anatomy.brain_mask, dtype=bool)
    flat_index = np.flatnonzero(mask)
    index_map = np.full(mask.shape, -1, dtype=np.int32)
    index_map.ravel()[flat_index] = np.arange(flat_index.size, dtype=np.int32)
    full = tuple(
        np.ascontiguousarray(getattr(anatomy, f), dtype=np.float32) for f in ("gm", "wm", "csf")
    )
    tissue = np.stack([np.clip(t.ravel()[flat_index], 0.0, 1.0) for t in full])
    ijk = np.stack(np.unravel_index(flat_index, mask.shape)).astype(np.int16)
    return _SubjectGrid(anatomy, mask.shape, flat_index, index_map, tissue, full, ijk)


def wmh_fraction(age_years: float | None) -> float:
    """Lesion share at the ventricle wall for this age (0 when the age is unknown)."""
    if age_years is None or not math.isfinite(float(age_years)):
        return 0.0
    ramp = (float(age_years) - WMH_ONSET_AGE_YEARS) / (WMH_FULL_AGE_YEARS - WMH_ONSET_AGE_YEARS)
    return WMH_MAX_FRACTION * min(max(ramp, 0.0), 1.0)


def _periventricular_weight(grid: _SubjectGrid) -> np.ndarray:
    """exp(-distance to the ventricles / WMH_DECAY_MM) at the brain voxels (cached).

    Computed on the grid subsampled to about ``WMH_GRID_MM`` and interpolated (trilinear) at
    the brain voxels: the map varies on the 4 mm decay scale, and two full-grid distance
    transforms would cost 5x a whole cold visit at 1 mm."""
    if grid.periventricular is None:
        voxel_mm = float(grid.anatomy.voxel_size_mm)
        step = max(1, int(round(WMH_GRID_MM / voxel_mm)))
        coarse_mm = step * voxel_mm
        mask = np.ascontiguousarray(grid.anatomy.brain_mask, dtype=bool)[::step, ::step, ::step]
        csf = grid.tissue_full[2][::step, ::step, ::step]
        depth_mm = ndimage.distance_transform_edt(mask, sampling=coarse_mm)
        ventricles = (csf >= VENTRICLE_MIN_CSF) & (depth_mm >= VENTRICLE_MIN_DEPTH_MM)
        if ventricles.any():
            distance_mm = ndimage.distance_transform_edt(~ventricles, sampling=coarse_mm)
            coarse = np.exp(-distance_mm / WMH_DECAY_MM).astype(np.float32)
            weight = np.empty(grid.flat_index.size, dtype=np.float32)
            ndimage.map_coordinates(
                coarse, grid.ijk / np.float32(step), output=weight, order=1, mode="nearest"
            )
        else:
            weight = np.zeros(grid.flat_index.size, dtype=np.float32)
        grid.periventricular = weight
    return grid.periventricular


def _rng(seed: int, stream: int, sequence: str = "") -> np.random.Generator:
    sequence_id = SEQUENCES.index(sequence) + 1 if sequence else 0
    return np.random.default_rng(np.random.SeedSequence([int(seed), stream, sequence_id]))


def _bias_field(grid: _SubjectGrid, seed: int, sequence: str, amplitude: float) -> np.ndarray:
    """Smooth multiplicative field exp(fx(x) + fy(y) + fz(z)) at the brain voxels.

    Each 1-D log profile is a random combination of the first three cosine modes over the
    field of view, normalised so its peak magnitude is ``amplitude / 3``. Cached per subject.
    """
    key = (int(seed), sequence)
    if key in grid.bias:
        return grid.bias[key]
    rng = _rng(seed, _STREAM_BIAS, sequence)
    profiles = []
    for size in grid.shape:
        u = (np.arange(size, dtype=np.float64) + 0.5) / size
        coefficients = rng.standard_normal(3)
        phases = rng.uniform(0.0, 2.0 * np.pi, 3)
        profile = sum(
            c * np.cos(np.pi * (k + 1) * u + p) / (k + 1)
            for k, (c, p) in enumerate(zip(coefficients, phases, strict=True))
        )
        profile *= (amplitude / 3.0) / max(float(np.abs(profile).max()), 1e-12)
        profiles.append(np.exp(profile).astype(np.float32))
    factors = profiles[0][grid.ijk[0]]
    factors *= profiles[1][grid.ijk[1]]
    factors *= profiles[2][grid.ijk[2]]
    if len(grid.bias) >= len(SEQUENCES):
        grid.bias.clear()
    grid.bias[key] = factors
    return factors


def _complex_noise(size: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Complex Gaussian noise of standard deviation ``sigma`` per channel, stored as the two
    terms the magnitude needs: row 0 = 2 rho cos t, row 1 = rho^2.

    Box-Muller in polar form: the noise is rho (cos t, sin t) with rho = sigma sqrt(-2 ln u1),
    t = 2 pi u2, so |s + noise|^2 = s (s + 2 rho cos t) + rho^2 — exactly Rician, and about
    3x cheaper than drawing two Gaussian arrays.
    """
    noise = np.empty((2, size), dtype=np.float32)
    u1 = rng.random(size, dtype=np.float32)
    u2 = rng.random(size, dtype=np.float32)
    rho2 = np.log1p(-u1, out=noise[1])  # ln(1 - u1), 1 - u1 in (0, 1]
    rho2 *= np.float32(-2.0 * sigma * sigma)
    u2 *= np.float32(2.0 * np.pi)
    np.cos(u2, out=noise[0])
    noise[0] *= np.sqrt(rho2)
    noise[0] *= np.float32(2.0)
    return noise


def _magnitude(signal: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """|signal + complex noise| from ``_complex_noise``'s two rows."""
    out = signal + noise[0]
    out *= signal
    out += noise[1]
    np.maximum(out, np.float32(0.0), out=out)  # rounding can leave tiny negatives
    return np.sqrt(out, out=out)


def _rician(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of ``signal`` plus complex Gaussian noise of standard deviation ``sigma``."""
    return _magnitude(signal, _complex_noise(signal.size, sigma, rng))


def _subject_noise(grid: _SubjectGrid, seed: int, sequence: str, sigma: float) -> np.ndarray:
    """The subject's fixed noise texture for one sequence (cached: identical at every visit)."""
    key = (int(seed), sequence, float(sigma))
    if key not in grid.noise:
        if len(grid.noise) >= len(SEQUENCES):
            grid.noise.clear()
        grid.noise[key] = _complex_noise(
            grid.flat_index.size, sigma, _rng(seed, _STREAM_NOISE, sequence)
        )
    return grid.noise[key]


@dataclass
class _VisitTissue:
    """What a visit changes, on the brain voxels listed in ``affected`` (positions in the
    subject's brain-voxel list): their normal tissue (3, m) after mass effect and partial
    volume, and the tumour compartments (3, m) oedema, necrosis, enhancing. Every other voxel
    keeps the subject's tumour-free signal."""

    affected: np.ndarray
    tissue: np.ndarray
    tumour: np.ndarray


def _bounding_box(mask: np.ndarray) -> tuple[slice, ...] | None:
    """Smallest box holding every True voxel (None when there is none), in two cheap passes."""
    plane = mask.any(axis=2)
    rows, cols = np.flatnonzero(plane.any(axis=1)), np.flatnonzero(plane.any(axis=0))
    if rows.size == 0:
        return None
    x, y = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    depth = np.flatnonzero(mask[x, y].any(axis=(0, 1)))
    return x, y, slice(depth[0], depth[-1] + 1)


# --------------------------------------------------------------------------- engine


class PhysicsEngine(Engine):
    """Deterministic CPU renderer from tissue maps and label maps (see module docstring).

    Options: ``field_strength_t`` (1.5 or 3.0), ``noise_fraction`` (Rician sigma / WM signal),
    ``bias_amplitude`` (peak log bias), ``mass_effect_fraction`` (0 disables mass effect),
    ``tissue_jitter`` (per-subject relative jitter of T1/T2/PD). The request's age adds
    periventricular white-matter hyperintensities (``wmh_fraction``); sex is ignored.
    """

    name = "physics"
    #: Names the output: change it whenever any output changes (cache keys in the platform;
    #: pinned by tests/generator/engines/test_physics_version_pin.py). 1.1.0: age lesions.
    version = "1.1.0"

    def __init__(
        self,
        *,
        field_strength_t: float = 3.0,
        noise_fraction: float = NOISE_FRACTION_OF_WM,
        bias_amplitude: float = BIAS_LOG_AMPLITUDE,
        mass_effect_fraction: float = MASS_EFFECT_FRACTION,
        tissue_jitter: float = SUBJECT_TISSUE_JITTER,
    ) -> None:
        self.tissues = tissue_parameters(field_strength_t)
        self.field_strength_t = float(field_strength_t)
        for name, value in (
            ("noise_fraction", noise_fraction),
            ("bias_amplitude", bias_amplitude),
            ("mass_effect_fraction", mass_effect_fraction),
            ("tissue_jitter", tissue_jitter),
        ):
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise GeneratorInputError(f"{name}: {value} must lie in [0, 1]")
        self.noise_fraction = float(noise_fraction)
        self.bias_amplitude = float(bias_amplitude)
        self.mass_effect_fraction = float(mass_effect_fraction)
        self.tissue_jitter = float(tissue_jitter)
        self._grid: _SubjectGrid | None = None

    # ------------------------------------------------------------------ public API

    def render(self, request: RenderRequest) -> np.ndarray:
        return self.render_many([request])[0]

    def render_many(self, requests: Sequence[RenderRequest]) -> list[np.ndarray]:
        """Render sequences; requests sharing anatomy and labels share the tissue mixing."""
        volumes: list[np.ndarray] = []
        visit_key: tuple[int, int, int] | None = None
        visit: _VisitTissue | None = None
        validated: RenderRequest | None = None
        for request in requests:
            key = (id(request.anatomy), id(request.labels), id(request.density))
            if visit is None or key != visit_key:
                validated = validate_request(request)
                grid = self._grid_for(validated.anatomy)
                visit = self._visit_tissue(grid, validated.labels, validated.density)
                visit_key = key
            elif request.sequence not in SEQUENCES:
                validate_request(request)  # raises the unknown-sequence error
            volumes.append(
                self._render_sequence(
                    grid,
                    visit,
                    request.sequence,
                    validated.subject_seed,
                    wmh_fraction(validated.age_years),
                )
            )
        return volumes

    def signal_table(self, sequence: str, subject_seed: int | None = None) -> dict[str, float]:
        """Noise-free signal of each pure compartment for ``sequence`` (output units)."""
        signals = self._compartment_signals(sequence, subject_seed).tolist()
        return dict(zip(TISSUES, signals[: len(TISSUES)], strict=True))

    # ------------------------------------------------------------------ internals

    def _grid_for(self, anatomy: object) -> _SubjectGrid:
        # One-entry cache keyed on the anatomy object (held, so its id cannot be reused).
        if self._grid is None or self._grid.anatomy is not anatomy:
            self._grid = _subject_grid(anatomy)
        return self._grid

    def _tissue_table(self, subject_seed: int | None) -> dict[str, TissueParameters]:
        if subject_seed is None or self.tissue_jitter == 0.0:
            return self.tissues
        rng = _rng(subject_seed, _STREAM_TISSUE)
        jitter = 1.0 + self.tissue_jitter * np.clip(
            rng.standard_normal((len(TISSUES), 3)), -2.5, 2.5
        )
        return {
            name: TissueParameters(
                t1_ms=self.tissues[name].t1_ms * float(j[0]),
                t2_ms=self.tissues[name].t2_ms * float(j[1]),
                pd=self.tissues[name].pd * float(j[2]),
            )
            for name, j in zip(TISSUES, jitter, strict=True)
        }

    def _compartment_signals(self, sequence: str, subject_seed: int | None) -> np.ndarray:
        """Signal per compartment (order ``TISSUES``, then white-matter lesion tissue), scaled
        so that WM reads 1000."""
        table = self._tissue_table(subject_seed)
        wm = table["wm"]
        t1_ms = np.array([table[t].t1_ms for t in TISSUES] + [wm.t1_ms * WMH_T1_FACTOR])
        t2_ms = np.array([table[t].t2_ms for t in TISSUES] + [wm.t2_ms * WMH_T2_FACTOR])
        pd = np.array([table[t].pd for t in TISSUES] + [wm.pd * WMH_PD_FACTOR])
        if sequence == "t1c":
            enhancing = TISSUES.index("enhancing")
            t1_ms[enhancing] = 1.0 / (
                1.0 / t1_ms[enhancing]
                + GD_R1_PER_MM_S[self.field_strength_t] * GD_ENHANCING_MM / 1000.0
            )
            t2_ms[enhancing] = 1.0 / (
                1.0 / t2_ms[enhancing]
                + GD_R2_PER_MM_S[self.field_strength_t] * GD_ENHANCING_MM / 1000.0
            )
        protocol = SEQUENCE_PROTOCOLS[sequence]
        if isinstance(protocol, InversionRecovery):
            ti_ms = protocol.ti_ms or protocol.null_ti_ms(table["csf"].t1_ms)
            signals = protocol.signal(t1_ms, t2_ms, pd, ti_ms=ti_ms)
        else:
            signals = protocol.signal(t1_ms, t2_ms, pd)
        return signals * (WM_REFERENCE_INTENSITY / signals[TISSUES.index("wm")])

    def _visit_tissue(
        self, grid: _SubjectGrid, labels: np.ndarray, density: np.ndarray | None
    ) -> _VisitTissue:
        abnormal = labels > 0
        bbox = _bounding_box(abnormal)
        if bbox is None:
            empty = np.zeros((3, 0), dtype=np.float32)
            return _VisitTissue(np.zeros(0, dtype=np.int64), empty, empty)
        targets, warped = self._mass_effect(grid, abnormal, bbox)
        members, tumour = self._tumour_compartments(grid, labels, density, bbox)
        flag = np.zeros(grid.flat_index.size, dtype=bool)
        flag[targets] = True
        flag[members] = True
        affected = np.flatnonzero(flag)
        position = np.empty(flag.size, dtype=np.int64)
        position[affected] = np.arange(affected.size)
        tissue = grid.tissue[:, affected]
        tissue[:, position[targets]] = warped
        at_members = position[members]
        tissue[:, at_members] *= np.clip(1.0 - tumour.sum(axis=0), 0.0, 1.0)
        tumour_all = np.zeros((3, affected.size), dtype=np.float32)
        tumour_all[:, at_members] = tumour
        return _VisitTissue(affected, tissue, tumour_all)

    def _mass_effect(
        self, grid: _SubjectGrid, abnormal: np.ndarray, bbox: tuple[slice, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Radial, volume-conserving push: a voxel at radius r shows the tissue that sat at
        (r^3 - R_d^3)^(1/3), R_d the radius of the displacing volume, tapered to zero.
        Returns (brain-voxel positions, (3, t) displaced GM/WM/CSF)."""
        if self.mass_effect_fraction == 0.0:
            return np.zeros(0, dtype=np.int64), np.zeros((3, 0), dtype=np.float32)
        voxel_mm = float(grid.anatomy.voxel_size_mm)
        local = np.nonzero(abnormal[bbox])
        centre_vox = np.array(
            [coords.mean() + s.start for coords, s in zip(local, bbox, strict=True)],
            dtype=np.float64,
        )
        volume_mm3 = local[0].size * voxel_mm**3
        radius_eq_mm = (3.0 * volume_mm3 / (4.0 * math.pi)) ** (1.0 / 3.0)
        radius_d_mm = radius_eq_mm * self.mass_effect_fraction ** (1.0 / 3.0)
        taper_mm = max(MASS_EFFECT_TAPER_RADII * radius_eq_mm, MASS_EFFECT_MIN_TAPER_MM)
        r_out_mm = radius_eq_mm + taper_mm
        reach_vox = int(math.ceil(r_out_mm / voxel_mm))
        box = tuple(
            slice(max(int(c) - reach_vox, 0), min(int(c) + reach_vox + 2, size))
            for c, size in zip(centre_vox, grid.shape, strict=True)
        )
        axes_mm = [
            ((np.arange(s.start, s.stop) - c) * voxel_mm).astype(np.float32)
            for s, c in zip(box, centre_vox, strict=True)
        ]
        r2_mm2 = axes_mm[0][:, None, None] ** 2 + axes_mm[1][None, :, None] ** 2
        r2_mm2 = r2_mm2 + axes_mm[2][None, None, :] ** 2
        compact = grid.index_map[box]
        coords = np.nonzero((r2_mm2 < np.float32(r_out_mm**2)) & (compact >= 0))
        target = compact[coords].astype(np.int64)
        offset_mm = np.stack([axis[x] for axis, x in zip(axes_mm, coords, strict=True)]).astype(
            np.float64
        )
        r_mm = np.sqrt(r2_mm2[coords].astype(np.float64))
        r_src_mm = np.cbrt(np.maximum(r_mm**3 - radius_d_mm**3, 0.0))
        taper = np.clip((r_out_mm - r_mm) / taper_mm, 0.0, 1.0)
        taper = 0.5 - 0.5 * np.cos(np.pi * taper)  # 1 inside the tumour radius, 0 at r_out
        r_new_mm = r_mm - taper * (r_mm - r_src_mm)
        scale = np.divide(r_new_mm, r_mm, out=np.zeros_like(r_mm), where=r_mm > 0)
        source_vox = centre_vox[:, None] + offset_mm * (scale / voxel_mm)
        warped = np.empty((3, target.size), dtype=np.float32)
        for channel, full in enumerate(grid.tissue_full):
            ndimage.map_coordinates(
                full, source_vox, output=warped[channel], order=1, mode="nearest"
            )
        np.clip(warped, 0.0, 1.0, out=warped)
        return target, warped

    def _tumour_compartments(
        self,
        grid: _SubjectGrid,
        labels: np.ndarray,
        density: np.ndarray | None,
        bbox: tuple[slice, ...],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fractions of oedema, necrosis and enhancing tumour near the lesion, with partial
        volume at their borders; returns (brain-voxel positions, (3, m) fractions)."""
        pad = 2
        box = tuple(
            slice(max(s.start - pad, 0), min(s.stop + pad, size))
            for s, size in zip(bbox, labels.shape, strict=True)
        )
        compact = grid.index_map[box]
        inside_brain = compact >= 0
        members = compact[inside_brain].astype(np.int64)
        sub = labels[box]
        fractions = np.empty((3, members.size), dtype=np.float32)
        for row, label in enumerate((2, 1, 3)):  # oedema, necrosis, enhancing
            indicator = (sub == label).astype(np.float32)
            if LABEL_PARTIAL_VOLUME_SIGMA_VOX > 0:
                indicator = ndimage.gaussian_filter(
                    indicator, LABEL_PARTIAL_VOLUME_SIGMA_VOX, mode="nearest"
                )
            fractions[row] = indicator[inside_brain]
        fractions[0] *= OEDEMA_VOLUME_FRACTION
        if density is not None:
            cells = np.clip(np.asarray(density, dtype=np.float32)[box][inside_brain], 0.0, 1.0)
            fractions[0] *= 0.5 + 0.5 * cells
        return members, fractions

    def _render_sequence(
        self, grid: _SubjectGrid, visit: _VisitTissue, sequence: str, seed: int, wmh: float
    ) -> np.ndarray:
        volume = self._tumour_free(grid, sequence, seed, wmh).copy()
        if visit.affected.size:
            volume.ravel()[grid.flat_index[visit.affected]] = self._signal(
                grid, sequence, seed, visit.tissue, visit.tumour, visit.affected, wmh
            )
        return volume

    def _tumour_free(self, grid: _SubjectGrid, sequence: str, seed: int, wmh: float) -> np.ndarray:
        """The subject's full volume without tumour (cached: every visit starts from a copy,
        which is cheaper than scattering all brain voxels again)."""
        key = (int(seed), sequence, wmh)
        if key not in grid.tumour_free:
            if len(grid.tumour_free) >= len(SEQUENCES):
                grid.tumour_free.clear()
            volume = np.zeros(grid.shape, dtype=np.float32)
            volume.ravel()[grid.flat_index] = self._signal(
                grid, sequence, seed, grid.tissue, None, None, wmh
            )
            volume.setflags(write=False)
            grid.tumour_free[key] = volume
        return grid.tumour_free[key]

    def _signal(
        self,
        grid: _SubjectGrid,
        sequence: str,
        seed: int,
        tissue: np.ndarray,
        tumour: np.ndarray | None,
        where: np.ndarray | None,
        wmh: float = 0.0,
    ) -> np.ndarray:
        """Mix compartments, apply bias and Rician noise at the brain voxels ``where`` (all
        when None). Element-wise only, so a subset gives bit-identical values to a full pass
        (a zero tumour fraction adds exactly 0). ``wmh``: lesion share of white matter at the
        ventricle wall (``wmh_fraction``; 0 leaves white matter normal)."""
        signals = self._compartment_signals(sequence, seed).astype(np.float32)
        clean = tissue[0] * signals[0]
        if wmh > 0.0:
            weight = _periventricular_weight(grid)
            lesion = tissue[1] * (np.float32(wmh) * (weight if where is None else weight[where]))
            clean += (tissue[1] - lesion) * signals[1]
            clean += lesion * signals[len(TISSUES)]
        else:
            clean += tissue[1] * signals[1]
        clean += tissue[2] * signals[2]
        if tumour is not None:
            for row in range(3):
                clean += tumour[row] * signals[3 + row]
        if self.bias_amplitude > 0:
            bias = _bias_field(grid, seed, sequence, self.bias_amplitude)
            clean *= bias if where is None else bias[where]
        if self.noise_fraction > 0:
            sigma = self.noise_fraction * WM_REFERENCE_INTENSITY
            noise = _subject_noise(grid, seed, sequence, sigma)
            clean = _magnitude(clean, noise if where is None else noise[:, where])
        return clean
