"""zaiproxy: an unofficial OpenAI- and Anthropic-compatible proxy for the Z.ai GLM chat service.

The hot path is a C++ core (``zaiproxy.core``); this package is the thin Python layer around it.
"""

from zaiproxy._core import __version__

__all__ = ["__version__"]
