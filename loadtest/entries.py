"""Request types of the statistics entries the kit adds next to Locust's HTTP ones (`POST`).

Locust sums entries across workers on its own, so a custom metric that is an entry needs no messaging: time to
first token is an entry of type `TTFT`, and each 429 answer (waited out and retried) an entry of type `429`.
"""

TTFT = "TTFT"
RATE_LIMITED = "429"
HTTP = "POST"
