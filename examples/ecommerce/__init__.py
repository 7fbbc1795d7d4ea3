"""Example e-commerce pipeline: synthetic data generator, schemas and medallion layers."""
