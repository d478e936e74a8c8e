"""Bootstrap of on-prem nodes over SSH: the script files in ``scripts/`` and the Pulumi component that sends them."""
