"""`python -m agents.llm.llama_server ARGS`: llama-cpp-python's OpenAI-compatible server
(`python -m llama_cpp.server ARGS`, the same arguments), with its models loaded as the
embedded backend loads them: OpenMP's spin count tuned, and llama.cpp's extra buffer
types used only where a probe found them safe on this CPU (see agents/llm/native.py).

Raises nothing of its own: a model that crashes both ways ends the server with the
probe's one-line message and exit status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agents.llm import native
from core.workload import tune_openmp

tune_openmp()  # before llama.cpp's OpenMP runtime is loaded


def _model_argument(argv: list[str]) -> Path | None:
    for i, arg in enumerate(argv):
        if arg == "--model" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--model="):
            return Path(arg.split("=", 1)[1])
    return None


def main(argv: list[str] | None = None) -> int:
    from core.errors import UserError
    from core.paths import cache_dir

    argv = list(sys.argv[1:] if argv is None else argv)
    model = _model_argument(argv)
    try:
        if model is not None and model.is_file():
            extra = native.safe_extra_buffers(model, cache_dir())
        else:
            extra = native.preferred_extra_buffers()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    native.keep_extra_buffers(extra)
    from llama_cpp.server.__main__ import main as serve

    sys.argv = [sys.argv[0], *argv]
    serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
