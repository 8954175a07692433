"""Per-subject series for the waterfall, swimmer and spaghetti plots of the cohort dashboard.

The stored run statistics summarise the cohort; these plots show individual patients, so they
read a bounded, deterministic sample (the first subjects by index: the simulation draws each
subject from its own stream, so the first N are an unbiased sample of the cohort).
"""

from typing import Any

from runs.models import Assessment, SimulationRun, Subject

WATERFALL_MAX_SUBJECTS = 300
SWIMMER_MAX_SUBJECTS = 40
SPAGHETTI_MAX_SUBJECTS = 60
DAYS_PER_MONTH = 365.25 / 12  # Julian year, as the simulation converts days to months


def _round(value: float, digits: int = 2) -> float:
    return round(float(value), digits)


def subject_series(*, run: SimulationRun) -> dict[str, Any]:
    limit = max(WATERFALL_MAX_SUBJECTS, SWIMMER_MAX_SUBJECTS, SPAGHETTI_MAX_SUBJECTS)
    subjects = list(
        Subject.objects.filter(run=run, subject_index__lt=limit)
        .order_by("subject_index")
        .values(
            "id",
            "subject_index",
            "subject_id",
            "os_months",
            "os_event",
            "pfs_months",
            "pfs_event",
            "best_response",
        )
    )
    visits: dict[int, list[tuple]] = {s["id"]: [] for s in subjects}
    rows = (
        Assessment.objects.filter(run=run, subject_id__in=list(visits))
        .order_by("subject_id", "visit")
        .values_list(
            "subject_id",
            "visit",
            "day",
            "enhancing_ml",
            "necrosis_ml",
            "edema_ml",
            "spd_mm2",
            "response",
        )
    )
    for row in rows:
        visits[row[0]].append(row[1:])
    waterfall, swimmer, spaghetti = [], [], []
    for subject in subjects:
        series = visits[subject["id"]]
        if subject["subject_index"] < WATERFALL_MAX_SUBJECTS and series:
            baseline_spd = series[0][5]
            later = [v[5] for v in series[1:]]
            if baseline_spd > 0 and later:
                waterfall.append(
                    {
                        "subject": subject["subject_id"],
                        "pk": subject["id"],
                        "best_change_percent": _round(
                            100 * (min(later) - baseline_spd) / baseline_spd, 1
                        ),
                        "best_response": subject["best_response"],
                    }
                )
        if subject["subject_index"] < SWIMMER_MAX_SUBJECTS:
            swimmer.append(
                {
                    "subject": subject["subject_id"],
                    "pk": subject["id"],
                    "os_months": _round(subject["os_months"]),
                    "os_event": subject["os_event"],
                    "pfs_months": _round(subject["pfs_months"]),
                    "pfs_event": subject["pfs_event"],
                    "best_response": subject["best_response"],
                    "responses": [
                        {"month": _round(v[1] / DAYS_PER_MONTH), "response": v[6]}
                        for v in series
                        if v[6]
                    ],
                }
            )
        if subject["subject_index"] < SPAGHETTI_MAX_SUBJECTS and series:
            spaghetti.append(
                {
                    "subject": subject["subject_id"],
                    "pk": subject["id"],
                    "day": [v[1] for v in series],
                    "tumour_ml": [_round(v[2] + v[3]) for v in series],
                    "edema_ml": [_round(v[4]) for v in series],
                }
            )
    waterfall.sort(key=lambda item: -item["best_change_percent"])
    swimmer.sort(key=lambda item: item["os_months"])
    return {
        "waterfall": waterfall,
        "swimmer": swimmer,
        "spaghetti": spaghetti,
        "limits": {
            "waterfall": WATERFALL_MAX_SUBJECTS,
            "swimmer": SWIMMER_MAX_SUBJECTS,
            "spaghetti": SPAGHETTI_MAX_SUBJECTS,
        },
    }
