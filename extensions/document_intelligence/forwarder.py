"""Record mode for Document Intelligence: analyses and polls go to the real service; only the final poll (the
result) is recorded, under the simulator's own result URL, so replay finds it when the same document is
analysed again."""

from __future__ import annotations

import json

from simulator import extend

from .documents import document_of, result_url
from .operations import operation_id


class DocumentIntelligenceForwarder(extend.Forwarder):
    def __init__(self, endpoint: str, key: str) -> None:
        super().__init__(endpoint, auth={"ocp-apim-subscription-key": key} if key else None)
        # The simulator's result id → the service's operation URL (this instance's; as the service keeps them).
        self._upstream_results: dict[str, str] = {}

    def target(self, request: extend.Request) -> str:
        if not self.upstream:
            message = "Record mode needs DOCUMENT_INTELLIGENCE_ENDPOINT to forward Document Intelligence requests."
            raise extend.ApiError(500, "InternalServerError", message)
        upstream = self._upstream_results.get(request.path_params.get("resultId", ""))
        return upstream if upstream is not None else super().target(request)

    def adapt(self, request: extend.Request, response: extend.Response) -> extend.Response:
        """The service's operation URL becomes the simulator's (same id for the same model and document)."""
        location = response.headers.get("operation-location")
        if request.method == "POST" and location:
            result_id = operation_id(request.path_params["modelId"], document_of(request)[0])
            self._upstream_results[result_id] = location
            query = location.partition("?")[2]
            response.headers["operation-location"] = result_url(request, result_id, query)
        return response

    def keep(self, request: extend.Request, response: extend.Response) -> bool:
        """Only the final poll: a GET whose status says the analysis is over."""
        if request.method != "GET" or response.status != 200:
            return False
        try:
            return json.loads(response.body).get("status") in ("succeeded", "failed")
        except (ValueError, AttributeError):
            return False
