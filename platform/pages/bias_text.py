"""The bias breakdown in sentences an auditor can paste into a report."""

from typing import Any

from .labels import covariate_label, level_label

REFERENCE_WORDS = {
    "target_population": "the target population",
    "spec_design": "the distribution the spec asked for",
}


def _value(row: dict[str, Any], value: float | None) -> str:
    if value is None:
        return "n/a"
    if row.get("statistic") == "mean_years":
        return f"{value:.1f} years"
    return f"{100 * value:.1f}%"


def bias_sentence(row: dict[str, Any], *, target_name: str = "", threshold: float = 0.1) -> str:
    """One covariate level compared with its reference, with its SMD and the verdict."""
    name = covariate_label(row["covariate"])
    if row.get("level") not in (None, "", "true"):
        name = f"{name} = {level_label(row['level'])}"
    reference = REFERENCE_WORDS.get(row.get("reference", ""), "the reference")
    if row.get("reference") == "target_population" and target_name:
        reference = f"{reference} ({target_name})"
    measure = "mean" if row.get("statistic") == "mean_years" else "proportion"
    smd = row.get("smd")
    smd_text = "not computable" if smd is None else f"{smd:+.2f}"
    verdict = "exceeds" if row.get("flagged") else "is within"
    return (
        f"{name}: cohort {measure} {_value(row, row.get('cohort'))} versus "
        f"{_value(row, row.get('target'))} in {reference}; standardised mean difference "
        f"{smd_text}, which {verdict} the {threshold:g} imbalance threshold."
    )


def flagged_sentences(bias: dict[str, Any]) -> list[str]:
    target_name = bias.get("target_name", "")
    threshold = float(bias.get("threshold", 0.1))
    return [
        bias_sentence(row, target_name=target_name, threshold=threshold)
        for row in bias.get("rows", [])
        if row.get("flagged")
    ]
