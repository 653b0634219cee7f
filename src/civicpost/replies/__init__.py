"""Residents' replies to the city's posts: read on a schedule, kept, hidden or removed with a reason."""
