"""CrossGuard policy pack: ``pulumi preview|up --policy-pack policies/pack`` gates the stack inside the engine.

Pulumi starts this folder with the Python of the virtualenv PulumiPolicy.yaml names (``.venv-policy``, built by
``make setup``); Checkov runs from ``.venv-checkov`` (``MLOPS_CHECKOV`` names another), so the machine running
``pulumi`` needs both. Enforcement is mandatory: any violation blocks the update (validation.py says what counts).
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # this checkout's gate, also where the project is not installed in the env

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack.validation import gate_policy, pack_metadata

PolicyPack(**pack_metadata(), enforcement_level=EnforcementLevel.MANDATORY, policies=[gate_policy()])
