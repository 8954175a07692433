"""What the designer form is built from: the simulation's spec JSON Schema and its regimens."""

from typing import Any

from trials.spec_validation import spec_json_schema


def spec_schema() -> dict[str, Any]:
    """The JSON Schema the API validates against (one source of truth: the simulation's)."""
    return spec_json_schema()


def regimen_catalogue() -> list[dict[str, str]]:
    """Library regimens with their indication and description, for the regimen selector."""
    import simulation

    return [
        {"name": name, "indication": regimen.indication, "description": regimen.description}
        for name, regimen in sorted(simulation.REGIMENS.items())
    ]
