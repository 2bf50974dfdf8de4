"""Deciding what each service becomes: the plan, sizing, alarm rules, Spot weights and revalidation."""
