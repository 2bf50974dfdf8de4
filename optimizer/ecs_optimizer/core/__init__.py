"""Shared plain types and facts: errors, the platform facts, the data model, Fargate sizes, utilization."""
