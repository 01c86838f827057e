"""Static content: the model catalogue (§1.3, §5.3) and the landing page (§1.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_GENERAL_MCP = [
    "deep-web-search",
    "ppt-maker",
    "vibe-coding",
    "image-search",
    "deep-research",
    "advanced-search",
]
_VISION_MCP = [
    "shopping-search",
    "vlm-image-search",
    "vlm-image-processing",
    "vlm-image-recognition",
]


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    think: bool = False
    vision: bool = False
    web_search: bool = False
    agent_mode: bool = False
    mcp_servers: tuple[str, ...] = ()

    def entry(self, created_at: int) -> dict[str, Any]:
        """The model as GET /api/models lists it (shape of the 2026-03 capture)."""
        capabilities = {
            "vision": self.vision,
            "citations": False,
            "preview_mode": False,
            "web_search": self.web_search,
            "language_detection": False,
            "restore_n_source": False,
            "mcp": bool(self.mcp_servers),
            "file_qa": True,
            "returnFc": True,
            "returnThink": self.think,
            "think": self.think,
            "free_think": self.think,
            "skip_think": self.think,
            "agent_mode": self.agent_mode,
        }
        openai = {"id": self.id, "name": self.id, "owned_by": "openai", "openai": {"id": self.id}}
        info = {
            "id": self.id,
            "user_id": "a3856153-cf5b-49ea-a336-e26669288071",
            "base_model_id": None,
            "name": self.name,
            "params": {"merge_assistant_messages": True, "top_p": 0.95, "temperature": 1},
            "meta": {
                "profile_image_url": "/static/favicon.png",
                "description": f"{self.name} (zaiproxy mock upstream)",
                "capabilities": capabilities,
                "mcpServerIds": list(self.mcp_servers),
                "suggestion_prompts": [],
                "tags": [],
            },
            "access_control": None,
            "is_active": True,
            "updated_at": created_at,
            "created_at": created_at,
        }
        return {
            "id": self.id,
            "name": self.name,
            "owned_by": "openai",
            "openai": {**openai, "urlIdx": 1},
            "urlIdx": 1,
            "actions": [],
            "tags": [],
            "info": info,
        }


DEFAULT_MODELS = (
    Model(
        "glm-5", "GLM-5", think=True, web_search=True, agent_mode=True, mcp_servers=(*_GENERAL_MCP,)
    ),
    Model("glm-4.7", "GLM-4.7", think=True, web_search=True, mcp_servers=(*_GENERAL_MCP,)),
    Model("glm-4.6v", "GLM-4.6V", think=True, vision=True, mcp_servers=(*_VISION_MCP,)),
    Model("GLM-4-6-API-V1", "GLM-4.6", think=True, web_search=True),
    Model("glm-4.5v", "GLM-4.5V", think=True, vision=True),
    Model("0727-106B-API", "GLM-4.5-Air", think=True, web_search=True),
    Model("0727-360B-API", "GLM-4.5", think=True, web_search=True),
    Model("GLM-4.1V-Thinking-FlashX", "GLM-4.1V-9B-Thinking", think=True, vision=True),
    Model("deep-research", "Z1-Rumination", think=True, web_search=True),
    Model("zero", "Z1-32B", think=True),
    Model("glm-4-flash", "任务专用"),
    Model("0808-360B-DR", "0808-360B-DR", think=True, web_search=True),
    Model("glm-4-air-250414", "GLM-4-32B"),
)
MODELS_CREATED_AT = 1766026365


def models_response(models: tuple[Model, ...]) -> dict[str, Any]:
    return {"data": [m.entry(MODELS_CREATED_AT) for m in models]}


def landing_page(fe_versions: tuple[str, ...]) -> str:
    """The SPA shell; every version appears in a bundle URL, as in the pages clients scrape."""
    scripts = "".join(
        f'<link rel="modulepreload" href="https://z-cdn.chatglm.cn/z-ai/frontend/{v}/assets/index.js">'
        for v in fe_versions
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Z.ai - Free AI Chatbot &amp; Agent powered by GLM-5 &amp; GLM-4.7</title>{scripts}"
        '</head><body><div id="app"></div></body></html>'
    )
