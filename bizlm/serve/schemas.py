"""Request and response bodies of the model server (they define its OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)


def _whole_float_to_int(value: Any) -> Any:
    """JSON Schema counts 3.0 as an integer; accept it as 3 (strict mode would refuse it)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


TopK = Annotated[int, Field(ge=1, le=1000), BeforeValidator(_whole_float_to_int)]


class ErrorDetail(BaseModel):
    """What went wrong: a stable code and a sentence for people."""

    code: str = Field(description="Stable machine-readable code, e.g. `text_too_long`.")
    message: str


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer has this body."""

    error: ErrorDetail


class PredictOptions(BaseModel):
    """Options shared by every predict request; the texts are added per server limits."""

    model_config = ConfigDict(extra="forbid", strict=True)

    top_k: TopK | None = Field(None, description="Also return the k best labels.")
    return_probabilities: bool = Field(True, description="Return every label's probability.")
    explain: bool = Field(False, description="Return per-token attributions.")
    explain_method: Literal["occlusion", "integrated_gradients"] = "occlusion"

    def input_texts(self) -> list[str]:
        """The texts to classify, whether given as ``text`` or ``texts``."""
        raise NotImplementedError


def predict_request_model(
    max_texts: int, max_text_chars: int, max_explain_texts: int
) -> type[PredictOptions]:
    """The predict body with this server's limits written into the schema."""
    limited_text = Annotated[str, StringConstraints(max_length=max_text_chars)]

    class PredictRequest(PredictOptions):
        """One text (`text`) or a list (`texts`) to classify, and options."""

        model_config = ConfigDict(
            json_schema_extra={
                "allOf": [
                    {"oneOf": [{"required": ["texts"]}, {"required": ["text"]}]},
                    {  # with explain, at most max_explain_texts texts
                        "anyOf": [
                            {"properties": {"explain": {"const": False}}},
                            {"properties": {"texts": {"maxItems": max_explain_texts}}},
                        ]
                    },
                ]
            }
        )

        texts: list[limited_text] = Field(
            None, min_length=1, max_length=max_texts, description="Texts to classify."
        )
        text: limited_text = Field(None, description="A single text to classify.")

        @model_validator(mode="after")
        def _one_input(self) -> PredictRequest:
            if (self.texts is None) == (self.text is None):
                raise ValueError("Give exactly one of 'text' or 'texts'.")
            return self

        def input_texts(self) -> list[str]:
            """The texts to classify, whether given as ``text`` or ``texts``."""
            return [self.text] if self.text is not None else list(self.texts or [])

    return PredictRequest


class LabelScore(BaseModel):
    """A label and its probability."""

    label: str
    score: float


class Attribution(BaseModel):
    """How much one token (or word) pushed towards the explained label."""

    token: str
    attribution: float


class Explanation(BaseModel):
    """Attributions for the predicted label."""

    method: str
    label: str
    score: float
    attributions: list[Attribution]


class Prediction(BaseModel):
    """The prediction for one text."""

    label: str
    score: float
    probabilities: dict[str, float] | None = None
    top_k: list[LabelScore] | None = None
    explanation: Explanation | None = None


class PredictResponse(BaseModel):
    """Predictions in input order, and which model version made them."""

    model: str
    version: str
    predictions: list[Prediction]


class ModelInfo(BaseModel):
    """A served model."""

    name: str
    version: str
    stage: str | None = None
    labels: list[str]
    metrics: dict[str, Any]
    created: str | None = None
    backbone: str | None = None
    parent: str | None = None


class ModelList(BaseModel):
    """All served models."""

    models: list[ModelInfo]


class Status(BaseModel):
    """Health or readiness."""

    status: str
    models: list[str] = []


class FailedVersion(BaseModel):
    """A production version the server could not load, and why."""

    version: str
    error: str


class ModelReadiness(BaseModel):
    """The version of a model being served, and a newer one that failed to load, if any."""

    version: str | None
    failed: FailedVersion | None = None


class Readiness(Status):
    """Readiness, with the served and failed versions of every model."""

    versions: dict[str, ModelReadiness] = {}


class ReloadResult(BaseModel):
    """Models whose served version changed."""

    changed: list[str]
