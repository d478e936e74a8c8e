"""Defender for Containers and the subscription's Activity Log export in the azure-uae-prod target."""

from __future__ import annotations

import pytest

from components.azure.detection import ACTIVITY_LOG_CATEGORIES, AzureThreatDetectionArgs
from tests.conftest import one


def test_defender_for_containers_is_standard_with_the_sensor(azure_prod):
    pricing = one(azure_prod, "azure-native:security:Pricing").inputs
    assert (pricing["pricingName"], pricing["pricingTier"]) == ("Containers", "Standard")
    assert pricing["scopeId"].startswith("/subscriptions/")
    assert {e["name"]: e["isEnabled"] for e in pricing["extensions"]} == {
        "ContainerSensor": "True",
        "AgentlessDiscoveryForKubernetes": "True",
        "ContainerRegistriesVulnerabilityAssessments": "True",
    }


def test_every_activity_log_category_goes_to_the_stack_workspace(azure_prod):
    setting = one(azure_prod, "azure-native:monitor:SubscriptionDiagnosticSetting")
    workspace = one(azure_prod, "azure-native:operationalinsights:Workspace")
    assert setting.inputs["workspaceId"] == workspace.outputs["id"]
    assert [(log["category"], log["enabled"]) for log in setting.inputs["logs"]] == [
        (c, True) for c in ACTIVITY_LOG_CATEGORIES
    ]
    assert setting.parent == one(azure_prod, "mlops:azure:ThreatDetection").urn


def test_unknown_activity_log_category_is_refused():
    with pytest.raises(ValueError, match="activity_log_categories"):
        AzureThreatDetectionArgs(subscription_id="s", workspace_id="w", activity_log_categories=("Everything",))
