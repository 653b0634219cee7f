"""Residents' text messages through a Twilio-compatible Messages API (SPEC §8.7): what the provider
sends to `/hooks/sms` and how its signature is checked (signature.py), the keywords residents
answer with (keywords.py)."""
