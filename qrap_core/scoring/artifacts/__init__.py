"""The shipped risk model artifact (model, metadata, card); see docs/model-card.md."""
