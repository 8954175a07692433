import json

import jsonschema
import pytest

from simulation import REGIMENS, SpecError, parse_spec, spec_json_schema, validate_spec

VALID = {"size": 10, "seed": 1, "indication": "gbm_newly_diagnosed", "regimen": "stupp_rt_tmz"}


def with_(**changes):
    data = json.loads(json.dumps(VALID))
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    return data


def test_minimal_spec_is_valid_and_filled_with_stupp_defaults():
    assert validate_spec(VALID) == []
    spec = parse_spec(VALID)
    full = spec.to_dict()
    assert full["spec_version"] == 1
    assert full["visit_interval_weeks"] == 8
    assert full["resection"] == {"gtr": 0.39, "str": 0.45, "biopsy": 0.16}
    assert full["biomarkers"]["mgmt_methylated"] == 0.45
    assert full["demographics"]["sex"]["M"] == 0.63
    assert full["imaging"]["resolution_mm"] == 2


def test_normalised_spec_round_trips_through_json():
    spec = parse_spec(VALID)
    text = json.dumps(spec.to_dict())
    again = parse_spec(json.loads(text))
    assert again == spec
    assert json.dumps(again.to_dict()) == text
    assert list(spec.to_dict())[:5] == ["spec_version", "size", "seed", "indication", "regimen"]


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        (with_(size=-3), "size", "minimum"),
        (with_(size=0), "size", "minimum"),
        (with_(size=100_001), "size", "maximum"),
        (with_(size="10"), "size", "type"),
        (with_(size=True), "size", "boolean"),
        (with_(seed=...), "seed", "required"),
        (with_(indication="glioma"), "indication", "is not one of"),
        (with_(regimen="chemo_magic"), "regimen", "unknown regimen"),
        (with_(regimen="lomustine"), "regimen", "gbm_recurrent regimen"),
        (with_(demographics={"sex": {"M": 0.6, "F": 0.6}}), "demographics.sex", "sum to 1"),
        (with_(resection={"gtr": 0.5, "str": 0.2}), "resection", "sum to 1"),
        (with_(eligibility={"age_min_years": 70, "age_max_years": 40}), "eligibility", "empty"),
        (
            with_(eligibility={"kps_min": 100}, demographics={"kps": {"90": 1.0}}),
            "eligibility.kps_min",
            "no KPS",
        ),
        (with_(biomarkers={"mgmt_methylated": 1.5}), "biomarkers.mgmt_methylated", "maximum"),
        (with_(imaging={"resolution_mm": 3}), "imaging.resolution_mm", "is not one of"),
        (with_(colour="blue"), "colour", "unknown field"),
        (with_(visit_interval_weeks=0), "visit_interval_weeks", "minimum"),
    ],
)
def test_invalid_specs_name_the_field_and_the_reason(data, path, fragment):
    errors = validate_spec(data)
    assert errors, "expected a validation error"
    assert any(error.path == path and fragment in error.reason for error in errors), errors
    with pytest.raises(SpecError) as excinfo:
        parse_spec(data)
    assert excinfo.value.errors == errors


def test_non_object_spec_is_rejected():
    assert validate_spec([1, 2])[0].path == "(root)"


def test_user_defined_regimen_is_validated_and_used():
    regimen = {
        "indication": "gbm_newly_diagnosed",
        "surgery": True,
        "radiotherapy": {"start_day": 21, "dose_per_fraction_gy": 2.67, "fractions": 15},
        "drugs": [
            {
                "drug": "temozolomide",
                "dose": 75,
                "dose_unit": "mg/m2",
                "start_day": 21,
                "days_on": 21,
                "cycle_days": 21,
                "cycles": 1,
            }
        ],
    }
    spec = parse_spec(with_(regimen="hypo_rt_tmz", regimens={"hypo_rt_tmz": regimen}))
    definition = spec.regimen_definition()
    assert definition.radiotherapy.fractions == 15
    assert definition.radiotherapy.fractions_per_week == 5  # default filled
    assert definition.doses_on(21) == {"temozolomide": 75}
    bad_unit = json.loads(json.dumps(regimen))
    bad_unit["drugs"][0]["dose_unit"] = "mg/kg"
    errors = validate_spec(with_(regimen="x", regimens={"x": bad_unit}))
    assert [e.path for e in errors] == ["regimens.x.drugs.0.dose_unit"]
    shadow = validate_spec(with_(regimens={"rt_alone": regimen}))
    assert shadow[0].path == "regimens.rt_alone"


def test_json_schema_is_draft_2020_12_with_defaults_enums_and_bounds():
    schema = spec_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    props = schema["properties"]
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["required"]) == {"size", "seed", "indication", "regimen"}
    assert props["size"]["minimum"] == 1 and props["size"]["maximum"] == 100_000
    assert props["indication"]["enum"] == ["gbm_newly_diagnosed", "gbm_recurrent"]
    assert props["visit_interval_weeks"]["default"] == 8
    assert props["imaging"]["properties"]["resolution_mm"]["enum"] == [1, 2]
    assert set(props["regimen"]["examples"]) == set(REGIMENS)
    assert all("title" in value for value in props.values())
