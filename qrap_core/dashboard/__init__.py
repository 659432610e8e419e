"""Read models for the dashboard: an organization's roll-ups and findings across assessments."""
