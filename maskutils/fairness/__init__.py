"""Bias audits of any predictions with group attributes: metrics per group, gaps, tests and their
power (`audit`, `power`), the audit end to end with its findings (`analysis`), its tables and
figures (`tables`)."""
