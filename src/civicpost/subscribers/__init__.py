"""Residents who subscribe (SPEC §8.7): topics, sign-up with double opt-in, consent, links, recipients."""
