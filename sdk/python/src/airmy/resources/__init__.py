from .access import ApiKeys, Auth, OrganizationResource
from .agents import Agents
from .deployments import Deployments
from .monitoring import Alerts, Logs, Metrics
from .pipelines import PipelineRuns, Pipelines, PipelineSchedules
from .runs import Runs, RunStream
from .tools import Connectors, GuardrailPolicies

__all__ = [
    "Agents", "Alerts", "ApiKeys", "Auth", "Connectors", "Deployments", "GuardrailPolicies", "Logs",
    "Metrics", "OrganizationResource", "PipelineRuns", "PipelineSchedules", "Pipelines", "RunStream", "Runs",
]
