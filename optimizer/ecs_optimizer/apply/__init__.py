"""Applying a plan: the engine, the write-ahead journal, the run lock, restore, rollback and stopping safely."""
