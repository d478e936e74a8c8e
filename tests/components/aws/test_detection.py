"""GuardDuty with EKS protection in the aws-uae-prod target (components/aws/detection.py)."""

from __future__ import annotations

import pytest

from components.aws.detection import ThreatDetectionArgs, detector_features
from tests.conftest import of_type, one


def test_detector_is_enabled_with_eks_audit_logs_and_managed_runtime_monitoring(aws):
    detector = one(aws, "aws:guardduty/detector:Detector")
    assert detector.inputs["enable"] is True
    assert detector.inputs["findingPublishingFrequency"] == "FIFTEEN_MINUTES"
    features = {f.inputs["name"]: f for f in of_type(aws, "aws:guardduty/detectorFeature:DetectorFeature")}
    assert set(features) == {"EKS_AUDIT_LOGS", "RUNTIME_MONITORING"}
    for feature in features.values():
        assert feature.inputs["status"] == "ENABLED"
        assert feature.inputs["detectorId"] == detector.outputs.get("id", feature.inputs["detectorId"])
        assert feature.property_dependencies["detectorId"] == [detector.urn]
        assert feature.parent == detector.parent
    assert features["RUNTIME_MONITORING"].inputs["additionalConfigurations"] == [
        {"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}
    ]
    component = one(aws, "mlops:aws:ThreatDetection")
    assert detector.parent == component.urn


def test_switching_a_feature_off_plans_it_disabled_not_absent():
    features = {f["name"]: f for f in detector_features(ThreatDetectionArgs(eks_runtime_monitoring=False))}
    assert features["RUNTIME_MONITORING"]["status"] == "DISABLED"
    assert features["EKS_AUDIT_LOGS"]["status"] == "ENABLED"


def test_unknown_publishing_frequency_is_refused():
    with pytest.raises(ValueError, match="finding_publishing_frequency"):
        ThreatDetectionArgs(finding_publishing_frequency="HOURLY")
