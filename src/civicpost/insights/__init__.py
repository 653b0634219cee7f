"""Insights (SPEC §8.3): what the platforms said of the city's posts, summed for people."""
