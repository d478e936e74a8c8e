"""The organisation's own Checkov checks, loaded with ``checkov --external-checks-dir policies/checks``.

They run inside Checkov's environment: standard library and checkov only. One check per file; ids
``CKV_MLOPS_<NNN>`` (0xx Terraform plan / AWS, 1xx ARM / Azure, 2xx Kubernetes) are documented in
``docs/policies.md``. Shared code lives in the ``_mlops_*`` modules, which define no checks.
"""
