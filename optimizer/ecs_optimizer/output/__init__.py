"""Reports: formatting, the optimize and rollback reports, the savings report in its formats."""
