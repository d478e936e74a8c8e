"""On-prem components: an existing cluster's servers marked as node pools, and the in-cluster object store."""
