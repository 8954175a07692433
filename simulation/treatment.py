"""Treatment effects as cell-kill pulses: linear-quadratic radiotherapy and chemotherapy.

Radiotherapy: surviving fraction per fraction exp(-alpha d - beta d^2), beta = alpha / (alpha/beta)
with alpha/beta = 10 Gy (Rockne 2010). Chemotherapy: temozolomide's plasma half-life is about 1.8 h
(Baker 1999), so each daily dose acts as one instantaneous pulse with a log-kill proportional to the
dose; the efficacy depends on MGMT methylation (Hegi 2005) and decays with the cumulative log-kill
already delivered (acquired resistance), so tumours eventually regrow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

REFERENCE_DOSE = {"temozolomide": 200.0, "lomustine": 110.0, "bevacizumab": 10.0}


def lq_surviving_fraction(dose_gy: float, alpha_per_gy: float, alpha_beta_gy: float) -> float:
    """Linear-quadratic surviving fraction of one radiotherapy fraction."""
    beta = alpha_per_gy / alpha_beta_gy
    return math.exp(-alpha_per_gy * dose_gy - beta * dose_gy**2)


@dataclass
class ChemoState:
    """Per-subject chemotherapy sensitivity with acquired resistance."""

    log_kill_per_reference_dose: dict[str, float]
    resistance_log_kill_scale: float
    cumulative_log_kill: float = 0.0

    def surviving_fraction(self, drug: str, dose: float) -> float:
        """Surviving fraction after one dose; updates the resistance state."""
        base = self.log_kill_per_reference_dose.get(drug, 0.0)
        if base <= 0 or dose <= 0:
            return 1.0
        sensitivity = math.exp(-self.cumulative_log_kill / self.resistance_log_kill_scale)
        log_kill = base * (dose / REFERENCE_DOSE[drug]) * sensitivity
        self.cumulative_log_kill += log_kill
        return math.exp(-log_kill)
