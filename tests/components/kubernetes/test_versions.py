"""components/versions.py: every chart and image is pinned exactly (no ranges, no moving tags)."""

from __future__ import annotations

import re

import pytest

from components import versions

EXACT_CHART_VERSION = re.compile(r"^v?\d+\.\d+\.\d+$")


@pytest.mark.parametrize("chart", versions.CHARTS, ids=lambda c: c.name)
def test_charts_are_pinned_to_exact_versions(chart: versions.HelmChart) -> None:
    assert EXACT_CHART_VERSION.match(chart.version), chart
    assert chart.repository.startswith(("https://", "oci://")), chart


@pytest.mark.parametrize("image", versions.IMAGES, ids=lambda i: i.repository)
def test_images_are_pinned_by_release_tag_and_digest_format(image: versions.Image) -> None:
    assert image.tag and image.tag != "latest", image
    if image.digest is not None:
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", image.digest), image
        assert image.reference.endswith("@" + image.digest)
    else:
        assert image.reference == f"{image.repository}:{image.tag}"


def test_image_reference_carries_a_digest_when_known() -> None:
    image = versions.Image("quay.io/x/y", "1.0", "sha256:" + "a" * 64)
    assert image.reference == "quay.io/x/y:1.0@sha256:" + "a" * 64
