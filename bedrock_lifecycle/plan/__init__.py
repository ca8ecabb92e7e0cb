"""``bedrock-lifecycle plan``: every lifecycle change, its risk and its cost, offline.

:func:`compare` turns a head :class:`~bedrock_lifecycle.config.LifecycleConfig`
and its base into a :class:`Plan` (:mod:`.model`); :mod:`.render` prints it as
text, Markdown or JSON; :func:`open_base` reads the base from a file or a git ref.
docs/plan.md describes the output and every risk code.
"""

from .base import BaseError, open_base
from .compare import compare
from .describe import describe_rollout
from .model import RISK_CODES, Change, EnvironmentPlan, Kind, Plan, Risk, RiskCode
from .render import markdown_lines, plan_json, render_json, text_lines

__all__ = [
    "RISK_CODES",
    "BaseError",
    "Change",
    "EnvironmentPlan",
    "Kind",
    "Plan",
    "Risk",
    "RiskCode",
    "compare",
    "describe_rollout",
    "markdown_lines",
    "open_base",
    "plan_json",
    "render_json",
    "text_lines",
]
