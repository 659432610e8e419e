"""QRAP domain: assessments, discovery, rules, scoring and planning. No web or queue imports."""

__version__ = "0.1.0"
