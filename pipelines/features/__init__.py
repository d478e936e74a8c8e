"""Feast feature repository for the credit-risk use case: schema, synthetic data, local store, validated ingestion."""
