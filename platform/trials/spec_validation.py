"""The bridge to the simulation's spec schema: one source of truth for what a valid spec is."""

from typing import Any

from django.core.exceptions import ValidationError


def _spec_module():  # noqa: ANN202
    """`simulation` re-exports the spec API; `simulation.spec` holds it (same objects)."""
    import simulation

    if hasattr(simulation, "validate_spec"):
        return simulation
    import simulation.spec

    return simulation.spec


def spec_normalise(data: Any) -> dict[str, Any]:
    """Validate ``data`` with the simulation and return its canonical form (defaults filled in).

    Raises a Django ``ValidationError`` whose message dict names each field path
    (``data.<path>``), one entry per `FieldError` of the simulation.
    """
    simulation = _spec_module()
    if not isinstance(data, dict):
        raise ValidationError({"data": ["A cohort spec must be a JSON object."]})
    errors = simulation.validate_spec(data)
    if errors:
        fields: dict[str, list[str]] = {}
        for error in errors:
            path = _field_path(error.path)
            fields.setdefault(path, []).append(error.reason)
        raise ValidationError(fields)
    try:
        return simulation.parse_spec(data).to_dict()
    except simulation.SpecError as exc:  # validate_spec and parse_spec agree; belt and braces
        raise ValidationError({_field_path(e.path): [e.reason] for e in exc.errors}) from exc


def spec_json_schema() -> dict[str, Any]:
    return _spec_module().spec_json_schema()


def _field_path(simulation_path: str) -> str:
    """The API field name of a simulation FieldError path (the spec is the `data` field)."""
    if not simulation_path or simulation_path == "(root)":
        return "data"
    return f"data.{simulation_path}"
