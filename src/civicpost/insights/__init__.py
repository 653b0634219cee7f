"""Insights (SPEC §8.3): how posts did, read from the platforms by the worker (jobs, collector) and summed
for people (summary, best_time, export)."""
