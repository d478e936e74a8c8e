"""Threat detection and the subscription's audit trail for the Azure target.

- **Microsoft Defender for Containers**: the subscription's Defender plan ``Containers`` at the ``Standard`` tier
  (``azure-native:security:Pricing``), with the extensions that make it detect threats on AKS: ``ContainerSensor``
  (the Defender sensor on every node: runtime threat detection mapped to MITRE ATT&CK), ``AgentlessDiscoveryForKubernetes``
  (the API-server's view: configuration, RBAC, exposure) and ``ContainerRegistriesVulnerabilityAssessments``.
  Defender also reads the AKS control plane's audit log itself.
- **Activity Log export**: a subscription diagnostic setting (``azure-native:monitor:SubscriptionDiagnosticSetting``)
  that sends every Activity Log category (who changed what in the subscription, security alerts, policy decisions)
  to the stack's Log Analytics workspace, retained there as long as the workspace keeps logs (a year by default).

Both live at subscription scope, not in the stack's resource group: one stack per subscription owns them (a second
stack in the same subscription would fight over the same plan and setting; import them there instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

CONTAINERS_PLAN = "Containers"
CONTAINER_EXTENSIONS = (
    "ContainerSensor",
    "AgentlessDiscoveryForKubernetes",
    "ContainerRegistriesVulnerabilityAssessments",
)
"""Defender for Containers extensions the plan enables (names as the Microsoft.Security pricings API spells them)."""
ACTIVITY_LOG_CATEGORIES = (
    "Administrative",
    "Security",
    "ServiceHealth",
    "Alert",
    "Recommendation",
    "Policy",
    "Autoscale",
    "ResourceHealth",
)
"""Every category of the Azure Activity Log."""


@dataclass
class AzureThreatDetectionArgs:
    subscription_id: pulumi.Input[str]
    """The subscription the stack deploys into: where the Defender plan and the Activity Log setting apply."""
    workspace_id: pulumi.Input[str]
    """Resource id of the stack's Log Analytics workspace (``AzureFoundation.workspace``)."""
    setting_name: str = "mlops-activity-log"
    """Name of the subscription diagnostic setting (unique within the subscription)."""
    activity_log_categories: tuple[str, ...] = ACTIVITY_LOG_CATEGORIES
    extensions: tuple[str, ...] = CONTAINER_EXTENSIONS
    tags: dict[str, str] = field(default_factory=dict)
    """Unused by these untaggable resources; kept for the components' common shape."""

    def __post_init__(self) -> None:
        unknown = set(self.activity_log_categories) - set(ACTIVITY_LOG_CATEGORIES)
        if unknown:
            raise ValueError(f"AzureThreatDetectionArgs.activity_log_categories: unknown {sorted(unknown)}")


class AzureThreatDetection(pulumi.ComponentResource):
    """Defender for Containers (Standard) and the Activity Log exported to Log Analytics."""

    def __init__(self, name: str, args: AzureThreatDetectionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:ThreatDetection", name, None, opts)
        from pulumi_azure_native import monitor, security

        child = pulumi.ResourceOptions(parent=self)
        self.defender = security.Pricing(
            f"{name}-defender-containers",
            pricing_name=CONTAINERS_PLAN,
            pricing_tier="Standard",
            scope_id=pulumi.Output.concat("/subscriptions/", args.subscription_id),
            extensions=[{"name": ext, "is_enabled": "True"} for ext in args.extensions],
            opts=child,
        )
        self.activity_log = monitor.SubscriptionDiagnosticSetting(
            f"{name}-activity-log",
            name=args.setting_name,
            workspace_id=args.workspace_id,
            logs=[{"category": category, "enabled": True} for category in args.activity_log_categories],
            opts=child,
        )
        self.register_outputs({"defenderPlan": self.defender.id, "activityLogSetting": self.activity_log.id})
