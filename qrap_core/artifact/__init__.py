"""Documents uploaded to an assessment (CycloneDX CBOMs), stored in the database."""
