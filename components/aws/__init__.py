"""AWS components: network, KMS, EKS, node groups, S3 buckets and audit logging, each secure by default."""
