"""Notifications to staff (issue 14): by email through the city's mail server and
to departments' Slack or Teams hooks, written as rows with the event that
causes them (outbox.py) and sent later by the worker (sender.py)."""

from civicpost.notifications.kinds import KINDS, Event, choices_for, save_choices, shown
from civicpost.notifications.outbox import queue

__all__ = ["KINDS", "Event", "choices_for", "queue", "save_choices", "shown"]
