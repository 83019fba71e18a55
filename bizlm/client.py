"""A Python client for ``bizlm serve``::

from bizlm.client import Client
with Client("http://127.0.0.1:8000", key="bzk_...") as client:
    client.predict("tweets", ["@united lost my bag again"])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from bizlm.errors import BizlmError


class ClientError(BizlmError):
    """The server refused a request (4xx/5xx) or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class Client:
    """Calls a bizlm model server; each method raises :class:`ClientError` on failure."""

    def __init__(
        self,
        url: str,
        key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def predict(
        self,
        model: str,
        texts: str | Sequence[str],
        top_k: int | None = None,
        return_probabilities: bool = True,
        explain: bool = False,
        explain_method: str = "occlusion",
    ) -> list[dict[str, Any]]:
        """Predictions for each text, in order (label, score, probabilities, ...)."""
        body: dict[str, Any] = {
            "texts": [texts] if isinstance(texts, str) else list(texts),
            "return_probabilities": return_probabilities,
            "explain": explain,
            "explain_method": explain_method,
        }
        if top_k is not None:
            body["top_k"] = top_k
        return self._call("POST", f"/v1/models/{model}/predict", json=body)["predictions"]

    def models(self) -> list[dict[str, Any]]:
        """Every served model with its version, labels and metrics."""
        return self._call("GET", "/v1/models")["models"]

    def model(self, name: str) -> dict[str, Any]:
        """One served model's version, labels and metrics."""
        return self._call("GET", f"/v1/models/{name}")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(f"Cannot reach the server at {self._http.base_url}: {exc}.") from None
        if response.is_success:
            return response.json()
        try:
            error = response.json()["error"]
            code, message = error["code"], error["message"]
        except (ValueError, KeyError, TypeError):
            code, message = None, response.text[:200] or response.reason_phrase
        raise ClientError(
            f"{method} {path} failed with {response.status_code} ({code}): {message}",
            status=response.status_code,
            code=code,
        )
