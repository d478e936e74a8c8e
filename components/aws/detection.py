"""Threat detection for the AWS target: an Amazon GuardDuty detector with EKS protection.

GuardDuty reads the account's CloudTrail management events, VPC flow logs and DNS logs on its own. EKS protection
adds two feeds (``aws:guardduty/detectorFeature:DetectorFeature``, one resource per feature, as AWS's feature
activation model has it):

- ``EKS_AUDIT_LOGS``: the cluster's Kubernetes audit log, read by GuardDuty from the control plane (no cluster
  logging setting needed), for findings such as anonymous access, exposed dashboards, privileged pods;
- ``RUNTIME_MONITORING`` with ``EKS_ADDON_MANAGEMENT``: GuardDuty installs and updates its security agent as the
  ``aws-guardduty-agent`` EKS add-on on every cluster of the account (process, file and network events on the
  nodes). ``RUNTIME_MONITORING`` supersedes ``EKS_RUNTIME_MONITORING``; AWS refuses both on one detector.

Findings are published every 15 minutes (``finding_publishing_frequency``) to EventBridge and Security Hub, where
the organisation's alerting picks them up. GuardDuty is regional: the detector is created through the stack's provider, pinned to its residency-checked
region, and its findings stay there. One detector exists per account and region: a stack in an account whose
detector is already managed elsewhere imports it (``pulumi import``) instead of creating a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

EKS_AUDIT_LOGS = "EKS_AUDIT_LOGS"
RUNTIME_MONITORING = "RUNTIME_MONITORING"
EKS_ADDON_MANAGEMENT = "EKS_ADDON_MANAGEMENT"
PUBLISHING_FREQUENCIES = ("FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS")


@dataclass
class ThreatDetectionArgs:
    finding_publishing_frequency: str = "FIFTEEN_MINUTES"
    eks_audit_logs: bool = True
    """GuardDuty reads the EKS clusters' Kubernetes audit logs."""
    eks_runtime_monitoring: bool = True
    """Runtime monitoring on the EKS nodes, with GuardDuty managing its agent add-on."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.finding_publishing_frequency not in PUBLISHING_FREQUENCIES:
            raise ValueError(
                f"ThreatDetectionArgs.finding_publishing_frequency: one of {', '.join(PUBLISHING_FREQUENCIES)}"
            )


def detector_features(args: ThreatDetectionArgs) -> list[dict[str, Any]]:
    """The detector's features (name, status, additional configuration) as the component plans them."""

    def status(on: bool) -> str:
        return "ENABLED" if on else "DISABLED"

    return [
        {"name": EKS_AUDIT_LOGS, "status": status(args.eks_audit_logs), "additional_configurations": []},
        {
            "name": RUNTIME_MONITORING,
            "status": status(args.eks_runtime_monitoring),
            "additional_configurations": [
                {"name": EKS_ADDON_MANAGEMENT, "status": status(args.eks_runtime_monitoring)}
            ],
        },
    ]


class ThreatDetection(pulumi.ComponentResource):
    """A GuardDuty detector and its EKS protection features."""

    detector_id: pulumi.Output[str]

    def __init__(self, name: str, args: ThreatDetectionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:ThreatDetection", name, None, opts)
        from pulumi_aws import guardduty

        detector = guardduty.Detector(
            name,
            enable=True,
            finding_publishing_frequency=args.finding_publishing_frequency,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for feature in detector_features(args):
            guardduty.DetectorFeature(
                f"{name}-{feature['name'].lower().replace('_', '-')}",
                detector_id=detector.id,
                name=feature["name"],
                status=feature["status"],
                additional_configurations=feature["additional_configurations"] or None,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.detector_id = detector.id
        self.register_outputs({"detectorId": detector.id})
