"""Cohort specs: validated by the simulation schema, versioned, frozen once a run used them."""

import pytest
from django.core.exceptions import ValidationError


@pytest.mark.django_db
def test_a_spec_is_stored_in_canonical_form_with_defaults(spec):
    assert spec.version == 1
    assert spec.data["demographics"]["sex"] == {"M": 0.63, "F": 0.37}
    assert spec.data["size"] == 8 and not spec.is_frozen


@pytest.mark.django_db
def test_editing_an_unused_spec_changes_it_in_place(spec, members, spec_data):
    from trials.services import spec_update

    edited = spec_update(spec=spec, actor=members["designer"], data={**spec_data, "size": 9})
    assert edited.pk == spec.pk and edited.version == 1 and edited.data["size"] == 9


@pytest.mark.django_db
def test_a_frozen_spec_needs_a_reason_and_makes_a_new_version(spec, members, spec_data):
    from runs.services import run_launch
    from trials.services import spec_update

    run_launch(spec=spec, actor=members["designer"])
    spec.refresh_from_db()
    assert spec.is_frozen
    with pytest.raises(ValidationError) as excinfo:
        spec_update(spec=spec, actor=members["designer"], data={**spec_data, "size": 20})
    assert "reason" in excinfo.value.message_dict
    new = spec_update(
        spec=spec,
        actor=members["designer"],
        data={**spec_data, "size": 20},
        reason="Power calculation changed",
    )
    spec.refresh_from_db()
    assert (new.version, new.data["size"], new.reason) == (2, 20, "Power calculation changed")
    assert spec.data["size"] == 8, "the frozen version is unchanged"


@pytest.mark.django_db
def test_the_api_answers_a_frozen_edit_without_reason_with_400(
    spec, members, designer_api, spec_data
):
    from runs.services import run_launch

    run_launch(spec=spec, actor=members["designer"])
    response = designer_api.put(f"/api/v1/specs/{spec.pk}/", {"data": spec_data}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"size": 0}, "data.size"),
        ({"size": 10**9}, "data.size"),
        ({"seed": -1}, "data.seed"),
        ({"regimen": ""}, "data.regimen"),
        ({"demographics": {"sex": {"M": "many"}}}, "data.demographics.sex.M"),
        ({"surprise": 1}, "data"),
    ],
)
def test_invalid_specs_answer_400_naming_each_field(designer_api, trial, spec_data, data, field):
    response = designer_api.post(
        "/api/v1/specs/", {"trial": trial.pk, "data": {**spec_data, **data}}, format="json"
    )
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert any(key == field or key.startswith(field + ".") for key in fields), fields


@pytest.mark.django_db
def test_several_errors_are_reported_together(designer_api, trial, spec_data):
    bad = {**spec_data, "size": 0, "seed": "x"}
    response = designer_api.post("/api/v1/specs/", {"trial": trial.pk, "data": bad}, format="json")
    fields = response.json()["error"]["fields"]
    assert {"data.size", "data.seed"} <= set(fields), fields


@pytest.mark.django_db
def test_the_spec_must_be_an_object(designer_api, trial):
    response = designer_api.post(
        "/api/v1/specs/", {"trial": trial.pk, "data": [1, 2]}, format="json"
    )
    assert response.status_code == 400
    assert "data" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_malformed_json_wrong_content_type_and_huge_payloads(designer_api, trial, settings):
    malformed = designer_api.generic(
        "POST", "/api/v1/specs/", '{"trial": 1, "data": {', content_type="application/json"
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "parse_error"
    wrong_type = designer_api.generic("POST", "/api/v1/specs/", "size=5", content_type="text/plain")
    assert wrong_type.status_code == 415
    assert wrong_type.json()["error"]["message"]
    padding = "x" * (3 * 1024 * 1024)
    huge = f'{{"trial": {trial.pk}, "data": {{"pad": "{padding}"}}}}'
    too_big = designer_api.generic("POST", "/api/v1/specs/", huge, content_type="application/json")
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"


@pytest.mark.django_db
def test_the_json_schema_of_the_form_comes_from_the_simulation(designer_api):
    from trials.spec_validation import spec_json_schema

    response = designer_api.get("/api/v1/specs/schema/")
    assert response.status_code == 200
    assert response.json() == spec_json_schema()
    assert "size" in response.json()["properties"]


@pytest.mark.django_db
def test_a_trial_with_runs_cannot_be_deleted(stored_run, designer_api):
    response = designer_api.delete(f"/api/v1/trials/{stored_run.trial_id}/")
    assert response.status_code == 400
    assert "trial" in response.json()["error"]["fields"]
