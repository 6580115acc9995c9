"""The canonical form of an images API call (``/v1/images/generations`` and
``/edits``) and of its answer: what the images dialect decodes into, what each
provider's ``images`` module encodes and decodes, and what crosses the Celery
task boundary (``payload`` / ``from_payload``, JSON-safe)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from gateway.canonical import CanonicalRequest, Dialect, Message, Role, TextPart


@dataclass(frozen=True, slots=True)
class InputImage:
    """An image sent to an edit: its bytes and what they are (sniffed)."""

    data: bytes
    content_type: str
    filename: str
    param: str  # "image", "image[1]", "mask"

    def payload(self) -> dict[str, str]:
        return {
            "data": base64.b64encode(self.data).decode(),
            "content_type": self.content_type,
            "filename": self.filename,
            "param": self.param,
        }

    @classmethod
    def from_payload(cls, raw: dict[str, str]) -> InputImage:
        return cls(base64.b64decode(raw["data"]), raw["content_type"], raw["filename"], raw["param"])


@dataclass(slots=True)
class ImageRequest:
    operation: str  # "generations" | "edits"
    model: str
    prompt: str
    n: int = 1
    size: str | None = None
    quality: str | None = None
    response_format: str = "url"
    background: str | None = None
    output_format: str | None = None
    output_compression: int | None = None
    moderation: str | None = None
    partial_images: int | None = None
    stream: bool = False
    style: str | None = None
    input_fidelity: str | None = None
    user: str | None = None
    images: list[InputImage] = field(default_factory=list)
    mask: InputImage | None = None
    given: frozenset[str] = frozenset()  # the parameters the client set (not null)

    def canonical(self) -> CanonicalRequest:
        """The prompt as one user message: the firewall, routing and the token
        estimate see it like any prompt."""
        return CanonicalRequest(
            dialect=Dialect.IMAGES,
            model=self.model,
            items=[Message(role=Role.USER, content=[TextPart(self.prompt)])],
            n=self.n,
            # not the chat ``streaming`` capability: whether a model streams
            # images is the images parameter table's question
            stream=False,
            user=self.user,
            raw={"prompt": self.prompt, "model": self.model},
        )

    def payload(self) -> dict[str, Any]:
        """JSON-safe, for the Celery task's arguments."""
        out: dict[str, Any] = {name: getattr(self, name) for name in SCALARS}
        out["images"] = [i.payload() for i in self.images]
        out["mask"] = self.mask.payload() if self.mask else None
        out["given"] = sorted(self.given)
        return out

    @classmethod
    def from_payload(cls, raw: dict[str, Any]) -> ImageRequest:
        return cls(
            **{name: raw[name] for name in SCALARS},
            images=[InputImage.from_payload(i) for i in raw["images"]],
            mask=InputImage.from_payload(raw["mask"]) if raw["mask"] else None,
            given=frozenset(raw["given"]),
        )


SCALARS = (
    "operation",
    "model",
    "prompt",
    "n",
    "size",
    "quality",
    "response_format",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "partial_images",
    "stream",
    "style",
    "input_fidelity",
    "user",
)


@dataclass(frozen=True, slots=True)
class ImageUsage:
    """Token usage as OpenAI's images API reports it (GPT image models, Gemini)."""

    input_tokens: int = 0
    output_tokens: int = 0
    input_text_tokens: int = 0
    input_image_tokens: int = 0

    def wire(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {
                "text_tokens": self.input_text_tokens,
                "image_tokens": self.input_image_tokens,
            },
            "output_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
        }


@dataclass(frozen=True, slots=True)
class ImageOut:
    """One image an upstream answered (its bytes decoded from base64)."""

    data: bytes
    revised_prompt: str | None = None
    mime: str = ""


@dataclass(slots=True)
class ImageAnswer:
    images: list[ImageOut] = field(default_factory=list)
    usage: ImageUsage | None = None
    created: int = 0
    size: str | None = None
    quality: str | None = None
    background: str | None = None
    output_format: str | None = None
    text: str = ""  # what a Gemini model said besides its images


@dataclass(frozen=True, slots=True)
class PartialImage:
    """A streamed partial image (``image_generation.partial_image`` / ``image_edit.partial_image``)."""

    b64_json: str
    index: int
    size: str | None = None
    quality: str | None = None
    background: str | None = None
    output_format: str | None = None


@dataclass(frozen=True, slots=True)
class ImageCompleted:
    """A streamed final image (``image_generation.completed`` / ``image_edit.completed``)."""

    image: ImageOut
    usage: ImageUsage | None = None
    size: str | None = None
    quality: str | None = None
    background: str | None = None
    output_format: str | None = None


@dataclass(frozen=True, slots=True)
class ImageStreamError:
    message: str
    code: str | None = None


ImageEvent = PartialImage | ImageCompleted | ImageStreamError
