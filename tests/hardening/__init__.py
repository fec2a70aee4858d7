"""Hardening: hostile repositories, property-based fuzzing, internal-error containment."""
