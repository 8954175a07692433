"""One virtual patient from day 0 to death or the end of follow-up.

Order of events on each day: tumour death check, MRI visit (read-outs and RANO), treatment
(surgery on day 0 comes first, then the post-operative baseline scan), clearance of dead cells,
one day of growth.

The event loop is a generator (:func:`subject_process`) that yields a :class:`GrowRequest`
whenever the tumour must grow and receives the tumour burden back. One event loop serves both
backends: :func:`simulate_subject` answers each request with the numba kernel at once; the torch
backend (``simulation.torch_backend``) runs many subjects' loops in lockstep and answers all their
requests with one batched step. Everything else the loop does to the tumour goes through the
:class:`Domain` protocol, which both backends implement.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import numpy as np
from scipy import ndimage

from simulation.anatomy import draw_anatomy_params, load_template, tissue_region
from simulation.calibration import parameters
from simulation.growth import BOX_UPDATE_EVERY_DAYS, MAX_STEP_DAYS, GrowthDomain
from simulation.labelmap import CroppedLabelMap, crop_to_labels
from simulation.population import (
    ALKYLATING_DRUGS,
    draw_biology,
    draw_covariates,
    subject_id,
    subject_streams,
)
from simulation.rano import RanoAssessor
from simulation.readout import label_map, measure_lesions, sum_of_products_mm2, volumes
from simulation.regimens import Regimen
from simulation.spec import CohortSpec
from simulation.survival import competing_event_days, days_to_months, follow_up_days
from simulation.treatment import ChemoState, lq_surviving_fraction

PD_MIN_INCREASE_MM2 = 25.0  # SPD changes below this are within one voxel of measurement error


class Domain(Protocol):
    """What the event loop needs from a tumour state (numba ``GrowthDomain`` or a torch slot)."""

    voxel_size_mm: float

    def burden_ml(self) -> float: ...

    def update_box(self) -> None: ...

    def kill(self, surviving_fraction: float) -> None: ...

    def add_treatment_effect(self, density: float, visible_at_least: float) -> None: ...

    def modify_on_host(self, edit: Callable[[GrowthDomain], None]) -> None: ...

    def readout_arrays(self) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]: ...


@dataclass(frozen=True)
class GrowRequest:
    """Grow ``domain`` by ``days`` days; the answer sent back is its tumour burden in mL."""

    domain: Domain
    days: int
    rho_factor: float = 1.0
    dead_decay_per_day: float = 1.0
    effect_decay_per_day: float = 1.0


SubjectProcess = Generator[GrowRequest, float, "SubjectResult"]


@dataclass
class SubjectResult:
    row: dict[str, Any]
    assessments: list[dict[str, Any]]
    label_maps: dict[tuple[str, int], CroppedLabelMap]
    anatomy_params: dict[str, Any]


def visit_days(
    regimen: Regimen, interval_weeks: int, end_day: int, rng: np.random.Generator
) -> list[int]:
    """Scheduled MRI days (visit 0 is day 0); each follow-up scan 0-7 days after its due day."""
    r = parameters()["rano"]
    first = (
        regimen.rt_end_day + r["first_visit_after_rt_days"]
        if regimen.radiotherapy is not None
        else interval_weeks * 7
    )
    days = [0]
    due = first
    while due <= end_day:
        day = due + int(rng.integers(0, r["visit_delay_max_days"] + 1))
        if day <= end_day:
            days.append(day)
        due += interval_weeks * 7
    return days


def _domain_half_width_voxels(voxel_size_mm: float) -> int:
    return int(round(parameters()["anatomy"]["domain_half_width_mm"] / voxel_size_mm))


def max_domain_shape(resolution_mm: int) -> tuple[int, int, int]:
    """The largest simulation domain at this resolution (a cube around the seed)."""
    side = 2 * _domain_half_width_voxels(load_template(resolution_mm).voxel_size_mm) + 1
    return side, side, side


def _initial_domain(
    bio: dict[str, Any], anatomy: dict[str, Any], resolution_mm: int
) -> GrowthDomain:
    g = parameters()["growth"]
    template = load_template(resolution_mm)
    voxel = template.voxel_size_mm
    shape = template.mask.shape
    seed = np.asarray(anatomy["tumour_seed_voxel"])
    half = _domain_half_width_voxels(voxel)
    lo = tuple(int(max(seed[d] - half, 0)) for d in range(3))
    hi = tuple(int(min(seed[d] + half + 1, shape[d])) for d in range(3))
    gm, wm, _csf, mask = tissue_region(anatomy, lo, hi)
    diffusivity = (bio["d_white_mm2_per_day"] * wm + bio["d_grey_mm2_per_day"] * gm) * mask
    diffusivity = diffusivity.astype(np.float32)
    axes = [(np.arange(lo[d], hi[d]) - seed[d]) * voxel for d in range(3)]
    r = np.sqrt(
        axes[0][:, None, None] ** 2 + axes[1][None, :, None] ** 2 + axes[2][None, None, :] ** 2
    )
    width = math.sqrt(bio["d_white_mm2_per_day"] / bio["rho_per_day"])
    radius = (3 * bio["initial_volume_ml"] * 1000 / (4 * math.pi)) ** (1 / 3) + width * math.log(4)
    tissue = np.clip(gm + wm, 0, 1) * (diffusivity > 0)
    density = (tissue / (1 + np.exp(np.minimum((r - radius) / width, 50.0)))).astype(np.float32)
    density[density < 1e-7] = 0
    necrosis = (density >= g["necrosis_density"]).astype(np.uint8)
    zeros = np.zeros_like(density)
    return GrowthDomain(
        origin=lo,
        voxel_size_mm=voxel,
        diffusivity=diffusivity,
        density=density,
        dead=zeros.copy(),
        effect=zeros.copy(),
        necrosis=necrosis,
        cavity=np.zeros(density.shape, bool),
        rho_per_day=bio["rho_per_day"],
        necrosis_density=g["necrosis_density"],
    )


def _warm_up(domain: Domain, days: int) -> Generator[GrowRequest, float, None]:
    """Grow before day 0 so the analytic initial profile adapts to the tissue map."""
    elapsed = 0
    while elapsed < days:
        step = min(MAX_STEP_DAYS, days - elapsed)
        yield GrowRequest(domain, step)
        elapsed += step
        domain.update_box()


def _resect(domain: GrowthDomain, fraction: float, approach: list[float]) -> None:
    """Remove ``fraction`` of the enhancing core, approaching from direction ``approach``."""
    r = parameters()["readout"]
    t = parameters()["treatment"]
    core = (domain.density >= r["enhancing_density"]) | (domain.necrosis > 0)
    ijk = np.argwhere(core)
    if fraction <= 0 or len(ijk) == 0:
        return
    centred = ijk - ijk.mean(axis=0)
    order = np.argsort(centred @ np.asarray(approach), kind="stable")
    n_removed = int(round(fraction * len(ijk)))
    removed = ijk[order[:n_removed]]
    cavity = np.zeros(domain.shape, bool)
    cavity[tuple(removed.T)] = True
    shell = ndimage.binary_dilation(cavity) & ~cavity
    for array in (domain.density, domain.dead, domain.effect):
        array[cavity] = 0
    domain.density[shell] *= np.float32(t["surgery_margin_density_factor"])
    domain.necrosis[cavity] = 0
    domain.cavity |= cavity
    domain.diffusivity[cavity] = 0
    domain.refresh_coefficients()
    domain.sync()


def simulate_subject(spec: CohortSpec, index: int, regimen: Regimen) -> SubjectResult:
    """Simulate subject ``index`` of ``spec`` with the numba kernel (deterministic in (seed, index))."""
    process = subject_process(spec, index, regimen, attach=lambda domain: domain)
    try:
        request = next(process)
        while True:
            grown = request.domain
            assert isinstance(grown, GrowthDomain)
            burden = grown.grow(
                request.days,
                request.rho_factor,
                request.dead_decay_per_day,
                request.effect_decay_per_day,
            )
            request = process.send(burden)
    except StopIteration as finished:
        return finished.value


def subject_process(
    spec: CohortSpec,
    index: int,
    regimen: Regimen,
    attach: Callable[[GrowthDomain], Domain],
) -> SubjectProcess:
    """The event loop of subject ``index``; ``attach`` places its initial tumour on a backend."""
    g, r, t = parameters()["growth"], parameters()["readout"], parameters()["treatment"]
    rano_p = parameters()["rano"]
    streams = subject_streams(spec.seed, index)
    cov = draw_covariates(spec, streams["covariates"])
    alkylator = any(schedule.drug in ALKYLATING_DRUGS for schedule in regimen.drugs)
    bio = draw_biology(cov, spec.indication, streams["biology"], alkylator=alkylator)
    resolution = int(spec.imaging["resolution_mm"])
    anatomy = draw_anatomy_params(streams["anatomy"], age_years=cov.age, resolution_mm=resolution)
    template = load_template(resolution)
    grid_shape = tuple(int(n) for n in template.mask.shape)
    sid = subject_id(index)

    end_day = follow_up_days(spec.follow_up_months)
    visits = visit_days(regimen, spec.visit_interval_weeks, end_day, streams["schedule"])
    other_day, dropout_day = competing_event_days(streams["survival"], cov.age)
    stop_day = min(end_day, int(math.floor(other_day)), int(math.floor(dropout_day)))

    domain = attach(_initial_domain(bio, anatomy, resolution))
    yield from _warm_up(domain, int(g["warmup_days"]))
    lethal_ml = max(
        bio["lethal_burden_ml"],
        parameters()["survival"]["lethal_burden_min_factor_over_diagnosis"] * domain.burden_ml(),
    )
    chemo = ChemoState(dict(bio["chemo_log_kill"]), t["resistance_log_kill_scale"])
    rt_days = set(regimen.radiotherapy.fraction_days()) if regimen.radiotherapy else set()
    rt_dose = regimen.radiotherapy.dose_per_fraction_gy if regimen.radiotherapy else 0.0
    rt_fraction_sf = (
        lq_surviving_fraction(rt_dose, bio["rt_alpha_per_gy"], t["rt_alpha_beta_gy"])
        if rt_days
        else 1.0
    )
    rano = RanoAssessor(
        pr_fraction=rano_p["pr_fraction"],
        pd_fraction=rano_p["pd_fraction"],
        flair_pd_fraction=rano_p["flair_pd_fraction"],
        flair_pd_min_increase_ml=rano_p["flair_pd_min_increase_ml"],
        pd_min_increase_mm2=PD_MIN_INCREASE_MM2,
        confirmation_days=int(rano_p["confirmation_days"]),
        pseudoprogression_window_days=int(rano_p["pseudoprogression_window_days"]),
        rt_end_day=regimen.rt_end_day,
        flair_pd_only_on_antiangiogenic=bool(rano_p["flair_pd_only_on_antiangiogenic"]),
    )
    dead_decay = 0.5 ** (1.0 / g["dead_cell_clearance_half_life_day"])
    effect_decay = 0.5 ** (1.0 / t["pseudoprogression_half_life_day"])
    visit_set = {day: number for number, day in enumerate(visits)}
    dose_days = {day for day in range(stop_day + 1) if regimen.doses_on(day)}
    event_days = sorted(set(visit_set) | rt_days | dose_days | {stop_day})
    assessments: list[dict[str, Any]] = []
    label_maps: dict[tuple[str, int], CroppedLabelMap] = {}
    last_bevacizumab_day: int | None = None
    death_day: int | None = None
    death_cause = "none"
    day = 0
    next_event = 0
    last_box_update = 0
    burden = domain.burden_ml()
    while True:
        if day > 0 and burden >= lethal_ml:
            death_day, death_cause = day, "tumour"
            break
        on_bevacizumab = (
            last_bevacizumab_day is not None
            and day - last_bevacizumab_day <= t["bevacizumab_effect_days"]
        )
        if day == 0 and regimen.surgery:
            domain.modify_on_host(
                partial(
                    _resect, fraction=bio["resected_fraction"], approach=bio["surgical_approach"]
                )
            )
        if day in visit_set:
            number = visit_set[day]
            enh = t["bevacizumab_enhancing_density"] if on_bevacizumab else r["enhancing_density"]
            flair = t["bevacizumab_flair_density"] if on_bevacizumab else r["flair_density"]
            visible, necrosis, origin = domain.readout_arrays()
            labels = label_map(visible, necrosis, enhancing_density=enh, flair_density=flair)
            cropped = crop_to_labels(labels, origin, grid_shape, template.affine)
            vol = volumes(cropped.labels, domain.voxel_size_mm)
            lesions = measure_lesions(cropped.labels, domain.voxel_size_mm)
            spd = sum_of_products_mm2(
                lesions,
                measurable_mm=r["measurable_diameter_mm"],
                max_lesions=int(r["max_target_lesions"]),
            )
            if number == 0:
                response = rano.baseline(spd, vol.enhancing_ml, vol.flair_ml)
            else:
                response = rano.assess(
                    day, spd, vol.enhancing_ml, vol.flair_ml, on_antiangiogenic=on_bevacizumab
                )
            label_maps[(sid, number)] = cropped
            assessments.append(
                {
                    "subject_id": sid,
                    "visit": number,
                    "day": day,
                    "enhancing_ml": vol.enhancing_ml,
                    "necrosis_ml": vol.necrosis_ml,
                    "edema_ml": vol.edema_ml,
                    "spd_mm2": spd,
                    "measurable_lesions": sum(
                        1
                        for lesion in lesions
                        if min(lesion.longest_mm, lesion.perpendicular_mm)
                        >= r["measurable_diameter_mm"]
                    ),
                    "tumour_burden_ml": domain.burden_ml(),
                    "response": response,
                }
            )
        # treatment on this day
        progressed = rano.progression_day is not None
        if day in rt_days:
            domain.kill(rt_fraction_sf)
            if day == regimen.rt_end_day and bio["pseudoprogression"]:
                domain.add_treatment_effect(t["pseudoprogression_density"], r["flair_density"])
        if not progressed and day in dose_days:
            for drug, dose in regimen.doses_on(day).items():
                if drug == "bevacizumab":
                    last_bevacizumab_day = day
                    on_bevacizumab = True
                    continue
                domain.kill(chemo.surviving_fraction(drug, dose))
        if day >= stop_day:
            break
        # grow until the next event (at most MAX_STEP_DAYS at a time)
        while next_event <= day:
            next_event = (
                event_days[event_days.index(next_event) + 1]
                if next_event in event_days
                else min(e for e in event_days if e > day)
            )
        step = min(next_event - day, MAX_STEP_DAYS)
        rho_factor = t["bevacizumab_rho_factor"] if on_bevacizumab else 1.0
        burden = yield GrowRequest(domain, step, rho_factor, dead_decay, effect_decay)
        day += step
        if day - last_box_update >= BOX_UPDATE_EVERY_DAYS:
            domain.update_box()
            last_box_update = day

    if death_day is None and other_day <= min(end_day, dropout_day):
        death_day, death_cause = int(math.floor(other_day)), "other"
    os_day = death_day if death_day is not None else stop_day
    last_scan = assessments[-1]["day"] if assessments else 0
    if rano.progression_day is not None:
        pfs_day, pfs_event = rano.progression_day, 1
    elif death_day is not None:
        pfs_day, pfs_event = death_day, 1
    else:
        pfs_day, pfs_event = last_scan, 0
    row = {
        "subject_id": sid,
        "subject_index": index,
        "age": cov.age,
        "sex": cov.sex,
        "race": cov.race,
        "ethnicity": cov.ethnicity,
        "kps": cov.kps,
        "mgmt_methylated": cov.mgmt_methylated,
        "idh_mutant": cov.idh_mutant,
        "resection": cov.resection,
        "regimen": regimen.name,
        "os_months": days_to_months(os_day),
        "os_event": int(death_day is not None),
        "pfs_months": days_to_months(pfs_day),
        "pfs_event": pfs_event,
        "best_response": rano.best_response(),
        "os_day": os_day,
        "pfs_day": pfs_day,
        "death_cause": death_cause,
        "tumour_lobe": anatomy["lobe"],
        "rho_per_day": bio["rho_per_day"],
        "d_white_mm2_per_day": bio["d_white_mm2_per_day"],
        "rt_alpha_per_gy": bio["rt_alpha_per_gy"],
        "lethal_burden_ml": lethal_ml,
        "pseudoprogression": int(bio["pseudoprogression"] and regimen.radiotherapy is not None),
    }
    return SubjectResult(row, assessments, label_maps, anatomy)
