"""Azure OpenAI rate limits: Standard (TPM/RPM windows) and Provisioned (utilisation), in memory or shared
through Azure Table Storage. See docs/rate-limits.md."""

from simulator.ratelimit.config import Backend, FailureMode, RateLimitConfig
from simulator.ratelimit.limiter import Admission, RateLimiter

__all__ = ["Admission", "Backend", "FailureMode", "RateLimitConfig", "RateLimiter"]
