"""Text-generation backends shared by policies, judges and generative RMs: HF local, OpenAI-compatible, vLLM."""

from rmeval.llm.base import ChatBackend, ChatRequest, ChatResult
from rmeval.llm.cache import GenerationCache, generate_cached

__all__ = ["ChatBackend", "ChatRequest", "ChatResult", "GenerationCache", "generate_cached"]
