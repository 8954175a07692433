from rest_framework import exceptions

from core.api_errors import exception_handler


def test_validation_errors_name_each_field_including_nested_ones():
    exc = exceptions.ValidationError(
        {"size": ["Must be at least 1."], "demographics": {"sex": {"male": ["Not a number."]}}}
    )
    body = exception_handler(exc, {}).data
    assert body["error"]["code"] == "invalid"
    assert body["error"]["fields"] == {
        "size": ["Must be at least 1."],
        "demographics.sex.male": ["Not a number."],
    }


def test_other_errors_share_the_same_envelope():
    response = exception_handler(exceptions.NotAuthenticated(), {})
    assert response.status_code == 401
    assert response.data["error"]["code"] == "not_authenticated"
    assert response.data["error"]["message"]
