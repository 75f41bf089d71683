"""The API explorer sends one allowed read through the normal client."""

import pytest

from platforms.explorer import ENDPOINTS, explorer_call
from platforms.models import ApiCallLog


@pytest.mark.parametrize("key", sorted(ENDPOINTS))
def test_each_endpoint_answers_redacted_through_the_client(connect, sb, limiter, key):
    account = connect(ENDPOINTS[key].platform)
    result = explorer_call(
        account=account, endpoint_key=key, transport=sb.transport(), limiter=limiter
    )
    assert result.ok, result.error
    assert result.requests >= 1
    assert ApiCallLog.objects.filter(account=account).exists()
    token = account.credential.access_token
    assert token not in result.body


def test_an_endpoint_of_another_platform_is_refused(connect):
    account = connect("tiktok")
    with pytest.raises(ValueError):
        explorer_call(account=account, endpoint_key="youtube.channels")


def test_a_platform_error_is_shown_not_raised(connect, sb, limiter):
    account = connect("youtube")
    sb.faults.add("status_500", platform="youtube", endpoint="youtube.channels")
    result = explorer_call(
        account=account,
        endpoint_key="youtube.channels",
        transport=sb.transport(),
        limiter=limiter,
    )
    assert not result.ok
    assert "500" in result.body
