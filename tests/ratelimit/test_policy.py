import math

import pytest

from simulator.deployments import Deployment
from simulator.models import find_model
from simulator.ratelimit import policy
from simulator.ratelimit.policy import Exceeded, ProvisionedLimits, StandardLimits
from simulator.replies import Usage
from tests.ratelimit.factory import chat, embeddings, provisioned, standard


def test_requests_are_six_per_thousand_tpm_in_ten_second_windows() -> None:
    # An 8K TPM deployment answers x-ratelimit-limit-requests 8 (DESIGN.md §4).
    assert policy.limits_for(standard(tpm=8_000)) == StandardLimits(8_000, 8, 10.0)


def test_requests_per_minute_follow_the_model_and_the_deployment() -> None:
    assert policy.limits_for(standard(model="o3-mini", tpm=600_000)) == StandardLimits(600_000, 10, 10.0)
    assert policy.limits_for(standard(model="o1", tpm=6_000)) == StandardLimits(6_000, 1, 60.0)
    assert policy.limits_for(standard(tpm=8_000, rpm=600)) == StandardLimits(8_000, 100, 10.0)


def test_a_deployment_without_quota_is_unlimited() -> None:
    assert policy.limits_for(standard(tpm=None)) is None


def test_audio_deployments_count_requests_and_image_deployments_images() -> None:
    """whisper and tts: requestsPerMinute only (tokensPerMinute means nothing there); images: imagesPerMinute, each
    request costing its n, with requestsPerMinute besides when given."""
    whisper = policy.limits_for(standard(model="whisper", tpm=None, rpm=3))
    assert whisper == StandardLimits(policy.UNMETERED, 3, 60.0, policy.Metered.NOTHING)
    assert policy.limits_for(standard(model="tts", tpm=50_000, rpm=None)) is None
    assert whisper.limit_headers == {"x-ratelimit-limit-requests": "3"}
    painter = Deployment("img", find_model("gpt-image-1"), images_per_minute=6)
    images = policy.limits_for(painter)
    assert images == StandardLimits(6, policy.UNMETERED, 60.0, policy.Metered.IMAGES)
    assert images.limit_headers == {} and images.budget_exceeded is Exceeded.IMAGES
    assert policy.standard_cost(chat(painter, n="3"), images) == 3  # a multipart edit's n arrives as text
    assert policy.standard_cost(chat(painter), images) == 1
    assert policy.standard_cost(chat(standard(model="whisper", rpm=3)), whisper) == 0


def test_provisioned_capacity_is_ptus_times_the_models_input_rate() -> None:
    limits = policy.limits_for(provisioned(model="gpt-4.1", ptu=50))
    assert limits == ProvisionedLimits(150_000, 4.0)
    assert policy.limits_for(provisioned(model="gpt-5", ptu=1)) == ProvisionedLimits(4_750, 8.0)


def test_gpt35_is_charged_exactly_max_tokens_or_a_flat_default() -> None:
    deployment = standard(model="gpt-35-turbo")
    assert policy.token_cost(chat(deployment, "x" * 400, max_tokens=300)) == 300
    assert policy.token_cost(chat(deployment, "x" * 400)) == 16


def test_gpt4o_adds_the_prompt_characters_to_max_tokens() -> None:
    deployment = standard(model="gpt-4o")
    assert policy.token_cost(chat(deployment, "x" * 32, max_tokens=2000)) == 2008
    assert policy.token_cost(chat(deployment, "x" * 32)) == 648
    assert policy.token_cost(chat(deployment, "x" * 32, max_completion_tokens=100, n=3)) == 308


def test_prompt_characters_count_text_parts_but_not_roles() -> None:
    request = chat(standard(), [{"type": "text", "text": "abcd"}, {"type": "image_url", "image_url": {"url": "u"}}])
    assert policy.prompt_characters(request) == 5


def test_embeddings_cost_a_quarter_of_their_characters() -> None:
    deployment = standard(model="text-embedding-3-small")
    assert policy.token_cost(embeddings(deployment, "x" * 10)) == 3
    assert policy.token_cost(embeddings(deployment, ["x" * 4, "y" * 4])) == 2
    assert policy.token_cost(embeddings(deployment, [1, 2, 3])) == 3


def test_provisioned_estimate_weights_the_allowance_and_settles_on_usage() -> None:
    limits = ProvisionedLimits(3_000, 4.0)
    request = chat(provisioned(model="gpt-4.1"), "hello", prompt_tokens=12, max_tokens=100)
    assert policy.provisioned_estimate(request, limits) == 412
    assert policy.provisioned_actual(Usage(12, 30), limits) == 132


def test_success_headers_name_the_window_limits() -> None:
    headers = policy.standard_headers(StandardLimits(8_000, 8, 10.0), 7, 7_352)
    assert headers == {
        "x-ratelimit-limit-requests": "8",
        "x-ratelimit-limit-tokens": "8000",
        "x-ratelimit-remaining-requests": "7",
        "x-ratelimit-remaining-tokens": "7352",
    }
    assert policy.utilisation_header(0.4567) == {"azure-openai-deployment-utilization": "45.7%"}


@pytest.mark.parametrize(
    ("wait", "seconds", "milliseconds"),
    # 0.07 s is 70.00000000000001 ms in floating point: still 70. A fault may announce no wait at all.
    [(0.0004, "1", "1"), (1.2341, "2", "1235"), (15, "15", "15000"), (0.07, "1", "70"), (0, "0", "0")],
)
def test_retry_headers_round_up(wait: float, seconds: str, milliseconds: str) -> None:
    assert policy.retry_headers(wait) == {"retry-after": seconds, "retry-after-ms": milliseconds}


def test_429_wording_distinguishes_tokens_from_calls() -> None:
    request = chat(standard(model="gpt-4.1"))
    error = policy.rate_limited(request, Exceeded.TOKENS, 14.2, "East US", {})
    assert error.status == 429
    assert error.body() == {
        "error": {
            "code": "RateLimitReached",
            "message": "Your requests to gpt-4.1 for gpt-4.1 in East US have exceeded the token rate limit for your "
            "current OpenAI S0 pricing tier. This request was for ChatCompletions_Create under Azure OpenAI API "
            "version 2024-10-21. Please retry after 15 seconds. To increase your default rate limit, visit: "
            "https://aka.ms/oai/quotaincrease.",
        }
    }
    assert error.headers == {"retry-after": "15", "retry-after-ms": str(math.ceil(14.2 * 1000))}
    calls = policy.rate_limited(request, Exceeded.REQUESTS, 1, "East US", {})
    assert "exceeded the call rate limit" in calls.message
    assert "Please retry after 1 second." in calls.message


def test_fail_closed_answer_is_a_503_with_retry_after() -> None:
    error = policy.store_unavailable(2.0)
    assert (error.status, error.code, error.headers["retry-after"]) == (503, "ServiceUnavailable", "2")


def test_reasoning_models_are_charged_for_their_expected_thought() -> None:
    deployment = standard(model="o4-mini")
    profile = deployment.reasoning_profile
    assert profile is not None
    middle = {effort: sum(profile.tokens[effort]) // 2 for effort in ("low", "medium", "high")}
    base = deployment.model.default_token_cost + 8  # 32 characters of prompt
    assert policy.token_cost(chat(deployment, "x" * 32)) == base + middle["medium"]
    assert policy.token_cost(chat(deployment, "x" * 32, reasoning_effort="high")) == base + middle["high"]
    assert policy.token_cost(chat(deployment, "x" * 32, reasoning={"effort": "low"})) == base + middle["low"]
    # A cap bounds thought and answer together: it is what is charged, as for any model.
    assert policy.token_cost(chat(deployment, "x" * 32, max_completion_tokens=500)) == 508


def test_provisioned_usage_includes_reasoning_tokens() -> None:
    limits = ProvisionedLimits(4_750, 8.0)
    # 530 completion tokens of which 500 were thought: all 530 weigh as output.
    assert policy.provisioned_actual(Usage(12, 530, 500), limits) == 12 + 8 * 530
