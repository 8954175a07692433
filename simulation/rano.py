"""RANO response assessment (Wen 2010) as an online state machine over a subject's visits.

* Baseline: the post-operative (or enrolment) scan. Response is judged against the baseline SPD,
  progression against the nadir (smallest SPD so far, baseline included).
* CR: no enhancing disease; PR: SPD <= 50% of baseline; PD: SPD >= 125% of nadir, a new measurable
  lesion when nothing was measurable, or a significant T2/FLAIR increase; SD otherwise. Patients
  without measurable disease at baseline cannot reach CR/PR.
* Within 12 weeks after the end of radiotherapy, enlargement is not called PD (pseudoprogression);
  in this model new enhancement always lies inside the radiation field.
* Best overall response needs confirmation: CR/PR must persist on a scan >= 4 weeks later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RESPONSES = ("CR", "PR", "SD", "PD", "NE")


@dataclass
class RanoAssessor:
    pr_fraction: float
    pd_fraction: float
    flair_pd_fraction: float
    flair_pd_min_increase_ml: float
    pd_min_increase_mm2: float
    confirmation_days: int
    pseudoprogression_window_days: int
    rt_end_day: int | None
    flair_pd_only_on_antiangiogenic: bool = True
    baseline_spd_mm2: float = 0.0
    baseline_enhancing_ml: float = 0.0
    nadir_spd_mm2: float = 0.0
    nadir_flair_ml: float = 0.0
    progression_day: int | None = None
    history: list[tuple[int, str]] = field(default_factory=list)

    def baseline(self, spd_mm2: float, enhancing_ml: float, flair_ml: float) -> str:
        self.baseline_spd_mm2 = self.nadir_spd_mm2 = spd_mm2
        self.baseline_enhancing_ml = enhancing_ml
        self.nadir_flair_ml = flair_ml
        return "NE"

    def assess(
        self,
        day: int,
        spd_mm2: float,
        enhancing_ml: float,
        flair_ml: float,
        on_antiangiogenic: bool = False,
    ) -> str:
        """Time-point response at a follow-up scan."""
        if self.progression_day is not None:
            response = "PD"
        else:
            in_window = (
                self.rt_end_day is not None
                and day - self.rt_end_day < self.pseudoprogression_window_days
            )
            if self.nadir_spd_mm2 > 0:
                grew = (
                    spd_mm2 >= self.pd_fraction * self.nadir_spd_mm2
                    and spd_mm2 - self.nadir_spd_mm2 >= self.pd_min_increase_mm2
                )
            else:
                grew = spd_mm2 > 0
            flair_grew = (
                (on_antiangiogenic or not self.flair_pd_only_on_antiangiogenic)
                and flair_ml >= self.flair_pd_fraction * self.nadir_flair_ml
                and flair_ml - self.nadir_flair_ml >= self.flair_pd_min_increase_ml
            )
            if (grew or flair_grew) and not in_window:
                response = "PD"
                self.progression_day = day
            elif self.baseline_spd_mm2 <= 0:
                response = "SD"
            elif enhancing_ml <= 0:
                response = "CR"
            elif spd_mm2 <= self.pr_fraction * self.baseline_spd_mm2:
                response = "PR"
            else:
                response = "SD"
            self.nadir_spd_mm2 = min(self.nadir_spd_mm2, spd_mm2)
            self.nadir_flair_ml = min(self.nadir_flair_ml, flair_ml)
        self.history.append((day, response))
        return response

    def best_response(self) -> str:
        """Best confirmed overall response (CR/PR need a confirming scan >= 4 weeks later)."""
        if not self.history:
            return "NE"
        best = "PD" if self.history[0][1] == "PD" else "SD"
        rank = {"CR": 0, "PR": 1, "SD": 2, "PD": 3}
        for i, (day, response) in enumerate(self.history):
            if response not in ("CR", "PR"):
                continue
            for later_day, later in self.history[i + 1 :]:
                if later_day - day < self.confirmation_days:
                    continue
                if later in ("CR", "PR") and rank[later] <= rank[response]:
                    best = min(best, response, key=rank.__getitem__)
                elif later in ("CR", "PR"):
                    best = min(best, later, key=rank.__getitem__)
                break
        return best
